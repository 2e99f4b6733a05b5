"""The package's public face is exactly its `__all__`."""

from __future__ import annotations

import mockserver


def test_all_is_what_the_package_exports() -> None:
    public = {name for name in dir(mockserver) if not name.startswith("_")}
    # Submodules imported by the package, and `from __future__ import annotations`, show up as
    # attributes; they are not part of the face.
    incidental = {
        name for name in public if type(getattr(mockserver, name)).__name__ in ("module", "_Feature")
    }
    assert set(mockserver.__all__) == public - incidental
    assert sorted(mockserver.__all__) == mockserver.__all__


def test_every_error_descends_from_mock_error() -> None:
    assert issubclass(mockserver.ConfigError, mockserver.MockError)
    assert str(mockserver.ConfigError("port", "x", "an integer")) == "port: received 'x'; expected an integer"
