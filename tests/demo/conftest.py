import pytest


@pytest.fixture(autouse=True)
def _demo_dir(tmp_path, settings):
    """The demo writes its feed files here, not into the worktree's var/."""
    settings.HUZHU_DEMO_DIR = tmp_path / "demo"
