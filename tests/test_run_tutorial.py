"""docs/run_tutorial.py rewrites exactly the outputs that follow code blocks, and --check reports stale ones."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[1] / "docs" / "run_tutorial.py"


def _load():
    spec = importlib.util.spec_from_file_location("run_tutorial", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run_tutorial = _load()

PAGE = """# Page

```python
a = 20
print(a)
```

```text
stale
```

```python
print("dropped")
```

Prose between the blocks: this text block is not an output.

```text
keep me
```

```python
print(f"{a + 1:<6}")
print("   b")
```

```text
21
```
"""


def test_rewrites_only_the_text_block_right_after_a_code_block():
    new = run_tutorial.run_blocks(PAGE)
    assert "```text\n20\n```" in new  # a stale output is replaced
    assert "```text\nkeep me\n```" in new  # separated by prose: left alone
    assert "dropped" not in new.replace('print("dropped")', "")
    # One namespace across blocks (a from the first), trailing spaces trimmed, leading ones kept.
    assert "```text\n21\n   b\n```" in new
    assert new.replace("20\n```", "stale\n```", 1).replace("21\n   b\n", "21\n") == PAGE


def test_a_block_that_prints_nothing_cannot_fill_a_text_block():
    page = "```python\nx = 1\n```\n\n```text\nold\n```\n"
    with pytest.raises(ValueError, match=r"page.md:2: the block prints nothing, but a ```text block follows it"):
        run_tutorial.run_blocks(page, source="page.md")


def test_errors_give_the_line_in_the_file():
    page = "# t\n\n```python\nx = 1\n\nraise KeyError('boom')\n```\n"
    with pytest.raises(KeyError, match="boom") as caught:
        run_tutorial.run_blocks(page, source="page.md")
    assert caught.traceback[-1].lineno + 1 == 6  # pytest counts from 0; the raise is the file's line 6


def test_check_shows_a_diff_and_leaves_the_file_alone(tmp_path, capsys):
    page = tmp_path / "page.md"
    page.write_text(PAGE, encoding="utf-8")
    assert run_tutorial.main(["--check", str(page)]) == 1
    out = capsys.readouterr().out
    assert "-stale\n+20\n" in out
    assert page.read_text(encoding="utf-8") == PAGE

    assert run_tutorial.main([str(page)]) == 0
    assert "```text\n20\n```" in page.read_text(encoding="utf-8")
    assert [path.name for path in tmp_path.iterdir()] == ["page.md"]  # no temporary left behind
    assert run_tutorial.main(["--check", str(page)]) == 0
    assert capsys.readouterr().out == ""


def test_blocks_run_in_a_scratch_folder(tmp_path, monkeypatch):
    page = tmp_path / "page.md"
    page.write_text('```python\nopen("litter.txt", "w").close()\n```\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert run_tutorial.main([str(page)]) == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == ["page.md"]
