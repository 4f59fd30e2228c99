"""Error types page scripts can tell apart; every message names what was wrong."""


class MLError(Exception):
    """Base of every error this runtime raises on purpose."""

    name = "MLError"


class OptionsError(MLError, ValueError):
    name = "OptionsError"


class HubError(MLError, ValueError):
    """A model id, revision, file path, template or hub URL that is not acceptable."""

    name = "HubError"


class DownloadError(MLError):
    name = "DownloadError"

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status when the server answered, None when it could not be reached


class IntegrityError(MLError):
    """Downloaded bytes that do not match the hash that settings promise."""

    name = "IntegrityError"


class StorageError(MLError):
    """The browser would not store a file (its storage quota is used up): nothing partial was kept."""

    name = "StorageError"


class BackendError(MLError):
    """The inference backend could not start, run or go on (its worker or module failed): no model is at fault.

    `lost`: the backend's worker is gone, and the sessions in it with it; the engine that ran it closes, so the
    next createEngine makes a new one on a new worker."""

    name = "BackendError"

    def __init__(self, message: str, lost: bool = False) -> None:
        super().__init__(message)
        self.lost = lost


class SettingsError(MLError):
    name = "SettingsError"


class EngineClosedError(MLError):
    name = "EngineClosedError"


class RequestError(MLError, ValueError):
    """A `run` request the pipeline cannot serve; the engine stays usable."""

    name = "RequestError"


class ModelError(MLError, ValueError):
    """Model files that are present but cannot be used (malformed or unsupported content)."""

    name = "ModelError"
