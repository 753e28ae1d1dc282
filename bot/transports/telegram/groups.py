"""Handler groups of the application, in the order PTB runs them (lower first), in one place.

Each gate stops further handling (ApplicationHandlerStop) when it refuses an update, so the order
is the policy: a flood is dropped before anything else, a stranger is refused before any handler
can answer (even the progress prompt's reply), and then commands, questions and buttons (group 0).
"""

RATE_GATE = -20  # per-user token bucket (reliability.rate_gate)
ACCESS_GATE = -10  # ACCESS_POLICY=allowlist (handlers.access_gate)
PROMPT_REPLY = -2  # a value typed in reply to /capnhat's prompt (progress.prompt_reply)
DEFAULT = 0  # commands, questions, buttons
