"""Deadlines that fire: pure deadline arithmetic, set-based sweeps, the scheduler, the leader lock."""
