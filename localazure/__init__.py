"""Local stand-ins of Azure for tests and the demo, speaking the real protocols.

- ``LocalCloud`` (cloud.py): everything below together, plus methods to play Image Builder; its staging storage
  accounts and blobs in staging.py.
- ``ArmServer`` (arm.py): HTTPS Azure Resource Manager endpoint (image templates, resource groups, storage
  accounts + listKeys, container groups + logs), paging, ARM errors, fault injection, hooks, counters.
- ``IdentityServer`` (identity.py): App Service managed-identity endpoint for DefaultAzureCredential.
- ``Azurite`` (azurite.py): the npm storage emulator over HTTPS with OAuth and several accounts.
- ``LocalTemplate`` and the JSON a template serves (templates.py); block blob writes in bounded memory (blocks.py).
- ``TestCA`` (certs.py), ``TokenIssuer`` (tokens.py).

CLI: ``python -m localazure serve`` starts a cloud and prints the environment to use.
"""

from .arm import ArmServer
from .armstate import ArmRequest, ArmState, Fault
from .azurite import Azurite, AzuriteError, StorageRequest
from .certs import TestCA
from .cloud import CREDENTIAL_VARIABLES, LocalCloud
from .identity import IdentityServer
from .staging import PoolExhausted
from .templates import LocalTemplate, UnknownTemplate
from .tokens import TokenIssuer

__all__ = [
    "CREDENTIAL_VARIABLES",
    "ArmRequest",
    "ArmServer",
    "ArmState",
    "Azurite",
    "AzuriteError",
    "Fault",
    "IdentityServer",
    "LocalCloud",
    "LocalTemplate",
    "PoolExhausted",
    "StorageRequest",
    "TestCA",
    "TokenIssuer",
    "UnknownTemplate",
]
