"""Tests of the local engine (rtnb/engine/), one file or more per module."""
