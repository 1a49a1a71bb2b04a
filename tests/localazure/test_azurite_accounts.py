"""How many accounts one Azurite process can declare: AZURITE_ACCOUNTS is one environment string, which Linux caps
at 128 KiB. Too many accounts are refused with a clear error before node is started (the kernel's own answer is
``OSError: Argument list too long``). That 100 declared accounts serve a sweep is shown by
tests/monitor/test_unhealthy_accounts.py."""

from __future__ import annotations

import pytest

from localazure.azurite import MAX_ACCOUNTS_BYTES, Azurite, AzuriteError, account_key
from localazure.certs import TestCA


def test_more_accounts_than_one_environment_string_holds_are_refused_before_starting(tmp_path) -> None:
    ca = TestCA.create(tmp_path / "ca")
    accounts = {f"aibstaging{i:04d}": account_key(f"aibstaging{i:04d}") for i in range(1300)}
    assert len(";".join(f"{n}:{k}" for n, k in accounts.items())) > MAX_ACCOUNTS_BYTES
    with pytest.raises(AzuriteError, match="1300 accounts do not fit in AZURITE_ACCOUNTS"):
        Azurite.start(tmp_path / "azurite", ca, accounts)
    assert not (tmp_path / "azurite" / "azurite.out").exists()  # node was never started
