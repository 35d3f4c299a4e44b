"""The example configurations installed with annie (``annie/app/configs/*.toml``): ``annie train
iris`` trains the preset called iris from any folder after ``pip install``; ``annie list``
names them with the first sentence of each file's comment."""
from __future__ import annotations

import os
from importlib import resources

from ..errors import ConfigError
from ..registry import first_sentence

SUFFIX = ".toml"


def _folder():
    return resources.files("annie.app").joinpath("configs")


def presets() -> dict[str, str]:
    """Preset name -> one line (the first sentence of its file's comment), sorted by name."""
    found = {}
    for entry in sorted(_folder().iterdir(), key=lambda item: item.name):
        if entry.name.endswith(SUFFIX):
            comment = []
            for line in entry.read_text(encoding="utf-8").splitlines():
                if not line.startswith("#") or line.startswith("#  "):
                    break  # the comment's command lines ("#   annie train ...") end it
                comment.append(line.lstrip("#").strip())
            found[entry.name[:-len(SUFFIX)]] = first_sentence("\n".join(comment))
    return found


def preset_path(name: str) -> str:
    """The installed file of the preset called ``name``."""
    return os.fspath(_folder().joinpath(name + SUFFIX))


def config_path(argument: str) -> str:
    """A configuration file given on the command line: an existing file, or a preset's name.
    ConfigError naming the presets when it is neither."""
    if os.path.isfile(argument):
        return argument
    names = presets()
    if argument in names:
        return preset_path(argument)
    if os.path.isdir(argument):
        raise ConfigError(f"config file {argument!r} is a folder, not a file (give a TOML file "
                          f"or a preset: {', '.join(names)})")
    raise ConfigError(f"config file {argument!r} not found (and no preset of that name; "
                      f"presets: {', '.join(names)})")
