"""Where each setting comes from, and the one-sentence messages for a missing or wrong setting.

Every setting resolves the same way, first match wins:

1. the explicit argument (a function argument or a CLI option);
2. Pulumi config ``dumont:<key>``, read only when running inside a Pulumi program;
3. the environment variable;
4. the built-in default.

| setting               | Pulumi config        | environment variable  | default                  |
|-----------------------|----------------------|-----------------------|--------------------------|
| marketplace URL       | dumont:vastUrl       | VAST_URL              | https://console.vast.ai  |
| marketplace API key   | dumont:vastApiKey    | VAST_API_KEY          | (none)                   |
| control-plane URL     | dumont:apiUrl        | DUMONT_API_URL        | http://localhost:8000    |
| control-plane API key | dumont:apiKey        | DUMONT_API_KEY        | (none)                   |
| pacing scale          | dumont:pacingScale   | DUMONT_PACING_SCALE   | 1 (the documented gaps)  |

Keys are held as ``SecretStr`` so that no repr, log line or message shows them, and a resolved
key refuses to be pickled: Pulumi pickles provider objects into the stack's state.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import SecretStr

from dumont_iac.errors import SettingInvalid, SettingMissing


@dataclass(frozen=True)
class Setting:
    label: str  # how messages name it: "marketplace URL"
    pulumi_key: str  # the key in the "dumont" Pulumi config namespace
    env_var: str
    default: str | None = None
    secret: bool = False
    placeholder: str = "<value>"

    @property
    def pulumi_name(self) -> str:
        return f"dumont:{self.pulumi_key}"

    def how_to_set(self) -> str:
        secret = "--secret " if self.secret else ""
        return (
            f"run `pulumi config set {secret}{self.pulumi_name} {self.placeholder}` "
            f"or set the environment variable {self.env_var}"
        )

    def resolve(self, explicit: str | SecretStr | None = None, *, given_as: str = "") -> Resolved:
        """The value and where it came from; ``given_as`` names the explicit source ("--url")."""
        if isinstance(explicit, SecretStr):
            explicit = explicit.get_secret_value()
        candidates = (
            (explicit, Source.ARGUMENT),
            (_from_pulumi(self.pulumi_key), Source.PULUMI),
            (os.environ.get(self.env_var), Source.ENVIRONMENT),
            (self.default, Source.DEFAULT),
        )
        for value, source in candidates:
            if value is not None and str(value).strip():
                text = str(value).strip()
                held: str | SecretStr = SecretStr(text) if self.secret else text
                return Resolved(self, held, source, given_as or "an argument")
        return Resolved(self, None, Source.UNSET, given_as or "an argument")


class Source(enum.Enum):
    ARGUMENT = "argument"
    PULUMI = "pulumi"
    ENVIRONMENT = "environment"
    DEFAULT = "default"
    UNSET = "unset"


@dataclass(frozen=True)
class Resolved:
    setting: Setting
    value: str | SecretStr | None
    source: Source
    given_as: str = "an argument"

    def __reduce__(self):  # noqa: D105 - pickling is how secrets would leak into Pulumi state
        if self.setting.secret and self.value is not None:
            raise TypeError(
                f"The {self.setting.label} is a secret and is not pickled; resolve it where it "
                "is used (an object holding it must not become part of Pulumi state)."
            )
        return (Resolved, (self.setting, self.value, self.source, self.given_as))

    @property
    def is_set(self) -> bool:
        return self.value is not None

    def plain(self) -> str | None:
        if isinstance(self.value, SecretStr):
            return self.value.get_secret_value()
        return self.value

    def require(self) -> str:
        """The value, or ``SettingMissing`` with the sentence that says how to set it."""
        value = self.plain()
        if value is None:
            raise SettingMissing(missing_sentence(self.setting), setting=self.setting.pulumi_name)
        return value

    def origin(self) -> str:
        """Where the value came from, as messages say it."""
        return {
            Source.ARGUMENT: f"given as {self.given_as}",
            Source.PULUMI: f"from Pulumi config {self.setting.pulumi_name}",
            Source.ENVIRONMENT: f"from the environment variable {self.setting.env_var}",
            Source.DEFAULT: "the default",
            Source.UNSET: "not set",
        }[self.source]


VAST_URL = Setting(
    "marketplace URL", "vastUrl", "VAST_URL", "https://console.vast.ai", placeholder="<url>"
)
VAST_API_KEY = Setting(
    "marketplace API key", "vastApiKey", "VAST_API_KEY", secret=True, placeholder="<key>"
)
DUMONT_API_URL = Setting(
    "control-plane URL", "apiUrl", "DUMONT_API_URL", "http://localhost:8000", placeholder="<url>"
)
DUMONT_API_KEY = Setting(
    "control-plane API key", "apiKey", "DUMONT_API_KEY", secret=True, placeholder="<key>"
)
PACING_SCALE = Setting("pacing scale", "pacingScale", "DUMONT_PACING_SCALE", "1")


@dataclass(frozen=True)
class ServiceSettings:
    """Everything the HTTP layer needs to reach one outside system."""

    name: str  # "marketplace", "control plane"
    url: Resolved
    key: Resolved
    pacing_scale: float = 1.0

    @property
    def base_url(self) -> str:
        return self.url.require().rstrip("/")


def marketplace_settings(
    url: str | None = None,
    api_key: str | SecretStr | None = None,
    *,
    pacing_scale: float | None = None,
    url_given_as: str = "an argument",
    key_given_as: str = "an argument",
) -> ServiceSettings:
    return _service(
        "marketplace",
        VAST_URL.resolve(url, given_as=url_given_as),
        VAST_API_KEY.resolve(api_key, given_as=key_given_as),
        pacing_scale,
    )


def control_plane_settings(
    url: str | None = None,
    api_key: str | SecretStr | None = None,
    *,
    pacing_scale: float | None = None,
    url_given_as: str = "an argument",
    key_given_as: str = "an argument",
) -> ServiceSettings:
    return _service(
        "control plane",
        DUMONT_API_URL.resolve(url, given_as=url_given_as),
        DUMONT_API_KEY.resolve(api_key, given_as=key_given_as),
        pacing_scale,
    )


def _service(
    name: str, url: Resolved, key: Resolved, pacing_scale: float | None
) -> ServiceSettings:
    check_url(url)
    return ServiceSettings(name, url, key, resolve_pacing_scale(pacing_scale))


def check_url(url: Resolved) -> str:
    value = url.require()
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # an unclosed "[" or a port that is not a number from 1 to 65535
        parts, port_ok = urlsplit(""), False
    if not port_ok:
        raise SettingInvalid(
            f"The {url.setting.label} {value!r} ({url.origin()}) is not a valid URL (an unreadable "
            f"host, or a port outside 1 to 65535): {url.setting.how_to_set()}.",
            setting=url.setting.pulumi_name,
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingInvalid(
            f"The {url.setting.label} {value!r} ({url.origin()}) is not an http:// or https:// "
            f"URL: {url.setting.how_to_set()}.",
            setting=url.setting.pulumi_name,
        )
    return value


def resolve_pacing_scale(explicit: float | None = None) -> float:
    """How much of the marketplace's documented gaps the client waits (0 turns pacing off)."""
    resolved = PACING_SCALE.resolve(None if explicit is None else str(explicit))
    text = resolved.require()
    try:
        scale = float(text)
    except ValueError:
        scale = -1.0
    if not 0 <= scale < float("inf"):
        raise SettingInvalid(
            f"The {PACING_SCALE.label} {text!r} ({resolved.origin()}) is not a number >= 0: "
            f"{PACING_SCALE.how_to_set()}.",
            setting=PACING_SCALE.pulumi_name,
        )
    return scale


def missing_sentence(setting: Setting) -> str:
    return f"The {setting.label} is not set: {setting.how_to_set()}."


def unreachable_sentence(url: Resolved, reason: str) -> str:
    return (
        f"The {url.setting.label} {url.plain()} ({url.origin()}) cannot be reached ({reason}): "
        f"{url.setting.how_to_set()}."
    )


def gone_quiet_sentence(url: Resolved, reason: str) -> str:
    """For a URL that answered earlier in this process: the setting is right, the service is
    down for the moment."""
    return (
        f"The {url.setting.label} {url.plain()} ({url.origin()}) answered earlier in this run "
        f"but is not answering now ({reason}); the call had no effect and is safe to retry once "
        "the service is back."
    )


def not_the_api_sentence(url: Resolved, api: str, answer: str) -> str:
    return (
        f"The {url.setting.label} {url.plain()} ({url.origin()}) does not serve the {api} API "
        f"({answer}): {url.setting.how_to_set()}."
    )


def key_refused_sentence(key: Resolved, url: Resolved, answer: str) -> str:
    return (
        f"The {key.setting.label} ({key.origin()}) was refused by {url.plain()} ({answer}): "
        f"{key.setting.how_to_set()}."
    )


def _from_pulumi(key: str) -> str | None:
    """``dumont:<key>`` from Pulumi config, only inside a running Pulumi program (or its mocks)."""
    try:
        import pulumi
        from pulumi.runtime import settings as runtime_settings
    except ImportError:  # pragma: no cover - pulumi is a dependency, but lookups work without it
        return None
    # Outside a program there is no resource monitor; the ambient config would be stale or empty.
    # A provider process has none either: it gets the stack's config through configure().
    if runtime_settings.get_monitor() is None:
        return _provider_config.get(key)
    return pulumi.Config("dumont").get(key)


PULUMI_KEYS = tuple(
    s.pulumi_key for s in (VAST_URL, VAST_API_KEY, DUMONT_API_URL, DUMONT_API_KEY, PACING_SCALE)
)
_provider_config: dict[str, str] = {}


def use_provider_config(values: dict[str, str | None]) -> None:
    """Hand the stack's ``dumont:*`` config to a provider process (from ``configure``)."""
    _provider_config.clear()
    _provider_config.update({k: str(v) for k, v in values.items() if v is not None})
