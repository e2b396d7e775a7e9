"""Test helpers imported by both tiers (tests/unit and tests/functional); none opens a socket."""
