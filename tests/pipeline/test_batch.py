"""The batch: how many warm containers a docker batch keeps by default."""



def test_warm_containers_by_default_only_while_a_core_is_left_to_start_them(monkeypatch):
    from grader.pipeline import batch

    monkeypatch.setattr(batch.os, "sched_getaffinity", lambda pid: {0, 1})
    assert [batch.default_warm(j) for j in (1, 2, 3)] == [1, 0, 0]
    monkeypatch.setattr(batch.os, "sched_getaffinity", lambda pid: set(range(16)))
    assert [batch.default_warm(j) for j in (1, 2, 15, 16)] == [1, 2, 15, 0]
