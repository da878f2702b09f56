"""The core: the model (State, Result, Outcome, Event), durations, typed fields, secrets, the
pure state machine and logging. Imports nothing of ours outside core."""
