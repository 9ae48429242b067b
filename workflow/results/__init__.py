"""Classification results: the rules of each rule set, input files, storage, roll-up, reports.

`levels` and `rules` are pure (plain values in, violations out); `parse` reads files;
`store` and `rollup` talk to the database; `report` renders what `rollup` computed.
"""
