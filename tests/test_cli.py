from sklearn_icc.cli import main


def test_demo_prints_the_comparison_table(tiny_model, capsys):
    assert main(["demo", "--model", tiny_model]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "method" not in line]
    assert len(rows) == 6
    for line in rows:
        acc, ari, nmi, seconds = (float(v) for v in line.strip("|").split("|")[2:])
        assert 0 <= acc <= 1 and -1 <= ari <= 1 and 0 <= nmi <= 1 and seconds >= 0
    assert any("KMeans" in line for line in rows) and any("iris" in line for line in rows)
