"""Who performed a supervisor action: the API client and, when sent, the ``X-Acting-User`` header."""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework.request import Request

from analytics_api.kernel.errors import ApiError
from analytics_api.kernel.text import has_control_characters
from analytics_api.models import ApiClient
from analytics_api.tenancy.auth import ClientPrincipal
from supervision.models import ACTING_USER_MAX

ACTING_USER_HEADER = "X-Acting-User"
ACTING_USER_MESSAGE = (
    f"{ACTING_USER_HEADER} must be at most {ACTING_USER_MAX} characters of text (the person acting through "
    "this API client), without control characters."
)


@dataclass(frozen=True)
class Actor:
    client: ApiClient
    acting_user: str

    @property
    def audit_name(self) -> str:
        """How the audit log names the actor: ``client:<id>``, then `` user:<acting user>`` when sent."""
        name = f"client:{self.client.client_id}"
        return f"{name} user:{self.acting_user}" if self.acting_user else name

    def as_dict(self) -> dict[str, str | None]:
        return {"client": self.client.client_id, "actingUser": self.acting_user or None}


def request_actor(request: Request) -> Actor:
    """The caller of a supervisor action; a header over the cap or with control characters is 400."""
    principal = request.user
    assert isinstance(principal, ClientPrincipal)
    acting = request.headers.get(ACTING_USER_HEADER, "").strip()
    if len(acting) > ACTING_USER_MAX or has_control_characters(acting):
        raise ApiError(ACTING_USER_MESSAGE, code="invalid", field=ACTING_USER_HEADER)
    return Actor(client=principal.client, acting_user=acting)
