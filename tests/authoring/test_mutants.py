"""The mutation tool makes real, distinct mutants, only inside solution blocks and never of free choices."""

from grader.authoring.mutants import mutants_of

SOURCE = '''import numpy as np


def f(x):
    """Docstring 1 + 1."""
    scale = 2.0
    ### BEGIN SOLUTION
    hidden = 16  # free: any width
    return (x * hidden).sum(axis=0) - 1
    ### END SOLUTION
'''


def test_mutants_stay_in_solution_blocks_and_skip_free_constants(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(SOURCE)
    mutants = mutants_of(path)
    descriptions = sorted(m.description for m in mutants)
    assert all(m.line == 9 for m in mutants), [(m.line, m.description) for m in mutants]
    assert "Mult -> Div" in descriptions and ".sum -> .mean" in descriptions
    assert "axis=0 -> other axis" in descriptions and "Sub -> Add" in descriptions
    assert len({m.source for m in mutants}) == len(mutants)
    assert all("scale = 2.0" in m.source for m in mutants)


def test_the_unknown_dimension_of_reshape_is_not_mutated(tmp_path):
    path = tmp_path / "m.py"
    path.write_text('def f(x):\n    ### BEGIN SOLUTION\n    return x.reshape(x.shape[0], -1) + 1\n'
                    '    ### END SOLUTION\n')
    descriptions = {m.description for m in mutants_of(path)}
    assert "constant 1 -> 2" in descriptions  # the `+ 1` is still mutated
    assert all("-2" not in m.source.split("reshape")[1].split(")")[0] for m in mutants_of(path))
    assert "drop unary minus" in descriptions  # reshape(n, 1) is a real bug
