from __future__ import annotations

import os
import stat
from pathlib import Path

from server import config

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    missing = [s.name for s in config.SETTINGS if f"| `{s.name}` |" not in readme]
    assert missing == []


def test_environment_overrides_defaults():
    cfg = config.load(environ={"MAX_BODY_BYTES": "1024", "ALLOW_ZENDESK_TEST_SECRET": "yes"})
    assert cfg["MAX_BODY_BYTES"] == 1024 and cfg["ALLOW_ZENDESK_TEST_SECRET"] is True


def test_generated_secret_key_is_private_and_stable(tmp_path):
    cfg = config.load({"INSTANCE_PATH": str(tmp_path)}, environ={})
    key = config.secret_key(cfg)
    assert len(key) >= 32 and config.secret_key(cfg) == key
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600
    assert config.secret_key(dict(cfg, SECRET_KEY="explicit")) == "explicit"
