"""The API bench lists what each token sees: the whole group, or one store."""

from __future__ import annotations

from bench.run_api import LISTS, sql_for


def test_each_list_reads_the_group_or_one_store():
    for _, template in LISTS.values():
        assert "store_id" not in sql_for(template, None)
        assert "store_id = 7" in sql_for(template, 7)
    assert sql_for(LISTS["customers"][1], 3).endswith("role = 'owner' AND store_id = 3")
    assert "WHERE u.store_id = 3" in sql_for(LISTS["vehicles"][1], 3)
