"""benchmarks/intake_batch.py: a collected batch is checked, taken into the corpus and measured on arrival."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.diagnosis.realscoring import REAL, load_benchmark

WHY = "#: why The maintainer's fix installed the missing package; apt's own error line shows it."

intake_batch = load_benchmark("intake_batch")


def _report(folder: Path, name: str, source: str, why: str = WHY, text: str = "E: Unable to locate package x") -> None:
    (folder / name).write_text(f"#: source {source}\n{why}\n{text}\n", encoding="utf-8")


@pytest.fixture
def corpus(tmp_path):
    cases, batches, folder = tmp_path / "real", tmp_path / "batches", tmp_path / "collected"
    for d in (cases, batches, folder):
        d.mkdir()
    (batches / "README.md").write_text("| batch | reports | sources | start | arrival |\n")
    _report(cases, "customizer-failed__known1-apt-foo.txt", "https://github.com/o/r/issues/1")
    return cases, batches, folder


def test_good_reports_are_taken_in_and_bad_ones_refused_with_their_reason(corpus, monkeypatch, capsys):
    cases, batches, folder = corpus
    _report(folder, "customizer-failed__new2-apt-bar.txt", "https://github.com/o/r/issues/2")
    _report(folder, "unknown__new2-second-failure.txt", "https://github.com/o/r/issues/2")  # one thread, two failures
    _report(folder, "no-such-label__new3-x.txt", "https://github.com/o/r/issues/3")
    _report(folder, "customizer-failed__new4-x.txt", "https://github.com/o/r/issues/1")  # thread in the corpus
    _report(folder, "unknown__known1-apt-foo.txt", "https://github.com/o/r/issues/5")  # words used
    _report(folder, "unknown__new6-x.txt", "https://github.com/o/r/issues/6", why="#: why")
    _report(folder, "none__new7-x.txt", "https://github.com/o/r/issues/7", text="")
    monkeypatch.setenv("DIAGNOSIS_SCAN_BACKEND", "stdlib")
    argv = [str(folder), "zz", "--date", "2026-01-02", "--cases", str(cases), "--batches", str(batches)]
    assert intake_batch.main([*argv, "--sources", "two threads"]) == 0
    out = capsys.readouterr().out
    assert (cases / "customizer-failed__new2-apt-bar.txt").is_file()
    taken = ["customizer-failed__new2-apt-bar.txt", "unknown__new2-second-failure.txt"]
    assert (batches / "2026-01-02-zz.txt").read_text().splitlines() == taken
    assert sorted(p.name for p in cases.glob("*.txt")) == ["customizer-failed__known1-apt-foo.txt", *taken]
    for name, reason in [
        ("no-such-label__new3-x.txt", "is not a category id"),
        ("customizer-failed__new4-x.txt", "already in the corpus"),
        ("unknown__known1-apt-foo.txt", "already used"),
        ("unknown__new6-x.txt", "line 2"),
        ("none__new7-x.txt", "no report text"),
    ]:
        assert f"refused {name}: " in out and reason in out.split(f"refused {name}: ")[1].splitlines()[0], name
    assert "2 reports taken in, 5 refused" in out
    row = (batches / "README.md").read_text().splitlines()[-1]
    assert row.startswith("| 2026-01-02-zz | 2 | two threads | not measured | ") and row.endswith(" |")


def test_a_batch_is_taken_in_once_and_an_empty_folder_takes_nothing(corpus, capsys):
    cases, batches, folder = corpus
    argv = [str(folder), "zz", "--date", "2026-01-02", "--cases", str(cases), "--batches", str(batches)]
    assert intake_batch.main(argv) == 1  # nothing to take in
    assert not (batches / "2026-01-02-zz.txt").exists()
    (batches / "2026-01-02-zz.txt").write_text("x\n")
    assert intake_batch.main(argv) == 2
    assert "a batch is taken in once" in capsys.readouterr().err
    assert intake_batch.main([str(folder / "missing"), "zz", "--cases", str(cases), "--batches", str(batches)]) == 2


def test_every_corpus_report_passes_the_intake_checks():
    """The checks refuse nothing the corpus holds (the corpus test uses the same function)."""
    assert all(not intake_batch.report_problems(p) for p in sorted(REAL.glob("*.txt"))[::50])
