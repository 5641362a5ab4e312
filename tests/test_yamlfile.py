"""Every user-written YAML file is read by voiceboard.yamlfile: one-line errors with the place."""
import pytest

from drivers import scripts
from ivr import loadsim, simulator
from voiceboard import tones
from voiceboard.errors import ConfigError

LOADERS = [scripts.load, loadsim.load_walks, simulator.load_scenarios, tones.load]


@pytest.mark.parametrize("load", LOADERS)
def test_a_syntax_error_names_file_line_and_column(tmp_path, load):
    path = tmp_path / "bad.yaml"
    path.write_text("walks:\n  - name: a\n    steps: [\n      {at: end\n")
    with pytest.raises(ConfigError) as err:
        load(str(path))
    message = str(err.value)
    assert message.startswith(f"{path}:5:1: not valid YAML (") and "\n" not in message


@pytest.mark.parametrize("load", LOADERS)
def test_a_missing_file_is_named_with_the_reason(tmp_path, load):
    path = tmp_path / "missing.yaml"
    with pytest.raises(ConfigError, match=f"^{path}: cannot read: No such file or directory$"):
        load(str(path))
