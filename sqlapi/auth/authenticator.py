"""Who is calling: from `Authorization: Bearer <credential>`, a Caller.

A three-part credential is a JSON Web Token when `[auth.jwt]` is configured: verified
(`tokens`), its role read from `role_claim`, and the role's tables looked up in
`[auth.roles]`. Anything else is looked up as an API key (`apikeys`). A request without
credentials gets the anonymous role if one is configured, the whole API if nothing is
configured, and a 401 otherwise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlapi.auth.apikeys import bearer_token, key_caller, unauthorized
from sqlapi.auth.caller import ANYONE, Caller
from sqlapi.auth.settings import ApiKey, AuthSettings, Role
from sqlapi.auth.tokens import Claims, InvalidToken, TokenVerifier, claim_value, role_of
from sqlapi.model.errors import ProblemError, forbidden
from sqlapi.model.schema import fold

CALLERS_KEPT = 10_000


def _tables(role: Role) -> frozenset[str] | None:
    return None if role.tables is None else frozenset(fold(t) for t in role.tables)


class Authenticator:
    """Makes the Caller of each request; `await start()` once before serving."""

    def __init__(
        self, keys: tuple[ApiKey, ...], auth: AuthSettings, answers_read: Iterable[str] = ()
    ) -> None:
        """`answers_read`: the claims an answer can depend on (row filters, named
        queries): callers whose values of them agree get the same answers, so they share
        ETags."""
        self.keys = keys
        jwt = auth.jwt
        self.verifier = TokenVerifier(jwt) if jwt is not None else None
        self.role_claim = jwt.role_claim if jwt is not None else "role"
        self.roles = auth.roles
        anonymous = jwt.anonymous_role if jwt is not None else None
        self.anonymous = (
            None
            if anonymous is None
            else Caller(identity=f"anonymous:{anonymous}", tables=_tables(self.roles[anonymous]))
        )
        self.required = bool(keys) or jwt is not None
        self._callers: dict[int, tuple[Claims, Caller]] = {}
        self.claims = sorted(set(answers_read))

    async def start(self) -> None:
        if self.verifier is not None:
            await self.verifier.start()

    async def caller(self, authorization: str) -> Caller:
        credential = bearer_token(authorization)
        if credential is None:
            if authorization.strip() and self.required:  # credentials, but not a bearer's
                raise unauthorized("Send credentials as `Authorization: Bearer <token>`.")
            if self.anonymous is not None:
                return self.anonymous
            if not self.required:
                return ANYONE
            wanted = "a token" if self.verifier is not None else "a key"
            raise unauthorized(
                f"This API needs {wanted}: send `Authorization: Bearer <{wanted[2:]}>`."
            )
        if self.verifier is not None and credential.count(".") == 2:
            return await self._token_caller(self.verifier, credential)
        if self.keys:
            return key_caller(authorization, self.keys)
        raise self._refused(InvalidToken("the token is malformed"))

    async def _token_caller(self, verifier: TokenVerifier, token: str) -> Caller:
        try:
            claims = await verifier.verify(token)
        except InvalidToken as error:
            raise self._refused(error) from None
        # The verifier answers a token it trusts with the same claims object until it
        # stops trusting it; the Caller made of them is kept with them (the entry holds
        # the object, so its id cannot be another's while it is kept).
        kept = self._callers.get(id(claims))
        if kept is not None and kept[0] is claims:
            return kept[1]
        made = self._make_caller(claims)
        if len(self._callers) >= CALLERS_KEPT:
            del self._callers[next(iter(self._callers))]
        self._callers[id(claims)] = (claims, made)
        return made

    def _make_caller(self, claims: Claims) -> Caller:
        role = role_of(claims, self.role_claim)
        tables: frozenset[str] | None = None
        if self.roles:
            if role is None:
                raise forbidden(f"The token names no role (claim {self.role_claim!r}).")
            if role not in self.roles:
                raise forbidden(f"The role {role!r} may not read this API.")
            tables = _tables(self.roles[role])
        exp = claims.get("exp")
        return Caller(
            identity=self._identity(role, claims),
            tables=tables,
            claims=claims,
            expires=float(exp) if isinstance(exp, int | float) else None,
        )

    def _identity(self, role: str | None, claims: Claims) -> str:
        values: Iterable[object] = (claim_value(claims, path) for path in self.claims)
        text = repr((role, *values))
        return "token:" + hashlib.blake2s(text.encode(), digest_size=16).hexdigest()

    @staticmethod
    def _refused(error: InvalidToken) -> ProblemError:
        return unauthorized(f"The token is not valid: {error.reason}.", error.www_authenticate)
