"""``bench --json BADPATH`` fails before measuring anything (issue 17)."""

from __future__ import annotations

import pytest

from labkit.dev import bench


@pytest.fixture
def no_measuring(monkeypatch):
    monkeypatch.setattr(bench, "run", lambda *a, **k: pytest.fail("measured before --json check"))


@pytest.mark.parametrize("make_bad", [
    lambda tmp: (tmp / "a_file").write_text("x") and tmp / "a_file" / "bench.json",  # not a dir
    lambda tmp: tmp,  # a folder, not a file
])
def test_bad_json_path_fails_before_running(tmp_path, capsys, no_measuring, make_bad):
    bad = make_bad(tmp_path)
    with pytest.raises(SystemExit) as info:
        bench.main(["--quick", "--json", str(bad)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"--json {bad}" in err and "Fix" in err


def test_good_json_path_leaves_no_file_before_the_run(tmp_path, monkeypatch):
    target = tmp_path / "new" / "bench.json"
    seen = {}

    def fake_run(settings, quick):
        seen["exists_during_run"] = target.exists()
        raise SystemExit(0)

    monkeypatch.setattr(bench, "run", fake_run)
    with pytest.raises(SystemExit):
        bench.main(["--quick", "--json", str(target)])
    assert seen == {"exists_during_run": False}  # checked, then removed again
