"""Atomic writes: temporaries are recognisably ours, and those of a killed writer are cleared by the next write."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import time

import pandas as pd
import pytest

from bayes_ubpr._io import atomic_path, remove_stale_temporaries, write_frame
from bayes_ubpr.model import save_fit


def _dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_temporaries_are_named_as_ours(tmp_path):
    target = tmp_path / "fit.nc"
    with atomic_path(target) as temporary:
        assert temporary.parent == tmp_path
        assert re.fullmatch(rf"\.fit\.nc\.bayes_ubpr-{os.getpid()}-[a-z0-9_]+\.tmp\.nc", temporary.name)
        temporary.write_text("x")
    assert [p.name for p in tmp_path.iterdir()] == ["fit.nc"]


def test_the_next_write_removes_stale_temporaries_of_ours_only(tmp_path):
    dead, live = _dead_pid(), os.getppid()
    stale = tmp_path / f".table.csv.bayes_ubpr-{dead}-abcd1234.tmp.csv"
    old = tmp_path / f".table.csv.bayes_ubpr-{live}-old12345.tmp.csv"
    running = tmp_path / f".table.csv.bayes_ubpr-{live}-live1234.tmp.csv"
    other_target = tmp_path / f".other.csv.bayes_ubpr-{dead}-abcd1234.tmp.csv"
    not_ours = tmp_path / ".table.csv.something.tmp"
    for path in (stale, old, running, other_target, not_ours):
        path.touch()
    two_days_ago = time.time() - 2 * 86400
    os.utime(old, (two_days_ago, two_days_ago))
    write_frame(pd.DataFrame({"a": [1]}), tmp_path / "table.csv")
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {"table.csv", running.name, other_target.name, not_ours.name}
    # a whole folder (the calibration store does this when it opens)
    assert remove_stale_temporaries(tmp_path) == [other_target]
    assert {p.name for p in tmp_path.iterdir()} == {"table.csv", running.name, not_ours.name}


@pytest.mark.slow
def test_a_killed_writer_leaves_nothing_after_the_next_run(tmp_path):
    target = tmp_path / "report.html"
    script = (
        "import time\n"
        "from bayes_ubpr._io import atomic_path\n"
        f"with atomic_path({str(target)!r}) as temporary:\n"
        "    temporary.write_text('half a report')\n"
        "    print('writing', flush=True)\n"
        "    time.sleep(60)\n"
    )
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) as writer:
        assert writer.stdout.readline().strip() == "writing"
        writer.kill()
    assert len(list(tmp_path.iterdir())) == 1 and not target.exists(), "the killed writer left its temporary"
    with atomic_path(target) as temporary:
        temporary.write_text("<html></html>")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    assert target.read_text() == "<html></html>"


def test_a_failed_write_leaves_no_file(tmp_path):
    with pytest.raises(RuntimeError, match="disk full"), atomic_path(tmp_path / "x.csv"):
        raise RuntimeError("disk full")
    assert not list(tmp_path.iterdir())


def test_an_atomic_write_onto_a_folder_names_the_folder_not_the_temporary(tmp_path):
    target = tmp_path / "table.csv"
    target.mkdir()
    with pytest.raises(IsADirectoryError, match=r"Cannot write .*table\.csv: it is a folder; name a file"):
        write_frame(pd.DataFrame({"a": [1]}), target)
    assert list(tmp_path.rglob("*bayes_ubpr*")) == []


def test_save_fit_refuses_an_outcome_name_netcdf_cannot_hold_before_writing(small_fit, tmp_path):
    from bayes_ubpr import ModelSpec

    spec = ModelSpec.from_idata(small_fit)
    renamed = small_fit.copy()
    renamed.attrs.update(dataclasses.replace(spec, outcome="pain/relief").to_attrs())
    with pytest.raises(ValueError, match=r'outcome "pain/relief": .* cannot hold a name with "/"'):
        save_fit(renamed, tmp_path / "fit.nc")
    assert list(tmp_path.iterdir()) == []
