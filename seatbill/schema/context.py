"""Per-request GraphQL context: the viewer (verified lazily) and the request's dataloaders."""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql import GraphQLError
from starlette.requests import Request

from seatbill.auth import AuthError, TokenVerifier
from seatbill.catalog import Catalog
from seatbill.config import Settings
from seatbill.models import User
from seatbill.schema.loaders import Loaders
from seatbill.services import workspaces
from seatbill.services.stripe_gateway import StripeGateway


@dataclass
class Context:
    request: Request
    settings: Settings
    verifier: TokenVerifier
    catalog: Catalog
    gateway: StripeGateway | None = None
    # The app's users upserted lately (None: every request upserts its viewer).
    users: workspaces.RecentUsers | None = None
    loaders: Loaders = field(default_factory=Loaders)
    _viewer: User | None = None
    # The token's `email_verified` (None: it does not say); read after viewer().
    email_verified: bool | None = None

    async def viewer(self) -> User:
        """The authenticated user, upserted from the token's claims once per request."""
        if self._viewer is None:
            try:
                claims = await self.verifier.verify(self.request.headers.get("authorization"))
            except AuthError as exc:
                raise GraphQLError(str(exc), extensions={"code": "UNAUTHENTICATED"}) from None
            self._viewer = await (
                self.users.upsert(claims)
                if self.users is not None
                else workspaces.upsert_user(claims)
            )
            self.email_verified = claims.email_verified
            self.loaders.viewer_id = self._viewer.id
        return self._viewer
