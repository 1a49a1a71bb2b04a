"""The scanning engine behind ``diagnosis.scanner``: shared line recording and two matching backends."""
