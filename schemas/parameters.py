"""Parameters: input, generated and secure values, each a list."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from schemas.base import StrictModel, exactly_one

Scalar = str | int | float | bool

RESERVED_NAMES = frozenset({"current_page_url", "current_time", "task_id"})


class TotpSecret(StrictModel):
    """A TOTP seed; the code is computed at the moment a step uses it."""

    totp_secret: str
    digits: Annotated[int, Field(ge=6, le=8)] = 6

    @field_validator("totp_secret")
    @classmethod
    def _is_base32(cls, value: str) -> str:
        cleaned = value.replace(" ", "").upper()
        try:
            base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
        except (binascii.Error, ValueError):
            raise ValueError("totp_secret must be base32 (letters A-Z and digits 2-7)") from None
        return cleaned


class OnePasswordRef(StrictModel):
    """Optexity's 1Password reference: accepted by the schema, rejected by the loader
    unless a provider is configured."""

    vault_name: str
    item_name: str
    field_name: str
    type: str = "raw"
    digits: int | None = None


class SecureParameter(StrictModel):
    """One secret value: a TOTP seed, an environment variable, or an external store."""

    totp: TotpSecret | None = None
    env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    onepassword: OnePasswordRef | None = None
    amazon_secrets_manager: dict[str, object] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SecureParameter:
        exactly_one(
            self, ("totp", "env", "onepassword", "amazon_secrets_manager"), "a secure parameter"
        )
        return self

    @property
    def external_store(self) -> str | None:
        """The name of the external secret store this value needs, if any."""
        if self.onepassword is not None:
            return "onepassword"
        if self.amazon_secrets_manager is not None:
            return "amazon_secrets_manager"
        return None


class Parameters(StrictModel):
    """``{"input_parameters": ..., "generated_parameters": ..., "secure_parameters": ...}``."""

    input_parameters: dict[str, list[Scalar]] = Field(default_factory=dict)
    generated_parameters: dict[str, list[Scalar | None]] = Field(default_factory=dict)
    secure_parameters: dict[str, list[SecureParameter]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names_are_identifiers(self) -> Parameters:
        seen: dict[str, str] = {}
        for group in ("input_parameters", "generated_parameters", "secure_parameters"):
            for name in getattr(self, group):
                if not name.isidentifier():
                    raise ValueError(f"{group}: {name!r} is not a valid name (use a_b_1 style)")
                if name in RESERVED_NAMES:
                    raise ValueError(f"{group}: {name!r} is reserved")
                if name in seen:
                    raise ValueError(f"{name!r} is declared in both {seen[name]} and {group}")
                seen[name] = group
        return self
