"""``python -m monitor sweep | check TEMPLATE_RESOURCE_ID | demo``."""

import sys

from monitor.cli import main

if __name__ == "__main__":
    sys.exit(main())
