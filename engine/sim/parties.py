"""
Called parties: behaviours, the number rule table and the random model.

A ``Behaviour`` says what the far end of one call does: ring for ``after``
simulated seconds, then answer (and maybe hang up ``hangup_after`` seconds
later), or refuse with a SIP code / Q.850 cause. The ``PartyRules`` table
maps dialled numbers to behaviours (exact number, shell pattern such as
``7999*`` or a compiled regex); unmatched numbers use ``default``, which may
be a ``RandomModel``.
"""

import fnmatch
import random
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from engine.sim.channels import dialstatus_for_cause, sip_cause
from engine.sim.exceptions import SimError

KINDS = ("answer", "busy", "congestion", "no_answer", "rejected", "unreachable")


@dataclass(frozen=True)
class Behaviour:
    """What the called party does with one call."""

    kind: str
    after: float = 0.0
    hangup_after: float | None = None
    sip_code: int | None = None
    label: str = ""
    code: str = "00"
    play: str | None = None
    # keys the party presses after each prompt played to its channel ends
    # (a post-call survey answer); each digit once, in order
    dtmf: str | None = None

    @property
    def cause(self) -> int:
        """The Q.850 cause of a refusal (``sip_code`` mapped as chan_pjsip does)."""
        if self.sip_code is None:
            return 16
        return sip_cause(self.sip_code)

    @property
    def dialstatus(self) -> str:
        """The final Dial status of a refusal."""
        if self.sip_code is None:
            return "ANSWER"
        return dialstatus_for_cause(self.cause)

    @classmethod
    def answer(
        cls,
        after: float = 1.0,
        hangup_after: float | None = None,
        *,
        dtmf: str | None = None,
    ) -> "Behaviour":
        """
        Ring ``after`` s, answer, hang up after ``hangup_after`` s (or never).

        ``dtmf``: a digit pressed when a playback to this party ends (one
        digit per finished playback, in order), as a customer answers a prompt.
        """
        label = "answer-stay-up" if hangup_after is None else "answer-then-hangup"
        return cls("answer", after, hangup_after, label=label, dtmf=dtmf)

    @classmethod
    def busy(cls, after: float = 0.0) -> "Behaviour":
        """Busy (SIP 486, cause 17) after ``after`` s."""
        return cls("busy", after, sip_code=486, label="busy")

    @classmethod
    def congestion(cls, after: float = 0.0) -> "Behaviour":
        """Congestion (SIP 503, cause 34) after ``after`` s."""
        return cls("congestion", after, sip_code=503, label="congestion")

    @classmethod
    def no_answer(cls) -> "Behaviour":
        """Ring until the originate timeout."""
        return cls("no_answer", label="no-answer")

    @classmethod
    def rejected(cls, after: float = 1.0, code: int = 603) -> "Behaviour":
        """Ring, then reject (603 Decline: cause 21) or another SIP code."""
        return cls("rejected", after, sip_code=code, label="reject")

    @classmethod
    def unreachable(cls, after: float = 0.0, code: int = 480) -> "Behaviour":
        """Not reachable (480 Temporarily Unavailable: cause 19) or another code."""
        return cls("unreachable", after, sip_code=code, label="unreachable")

    def to_json(self) -> dict[str, Any]:
        """A plain dict, as the HTTP control API takes and returns."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Behaviour":
        """Build from the HTTP control API's dict (``kind`` plus factory args)."""
        kind = data.get("kind")
        if kind not in KINDS:
            raise SimError(f"unknown behaviour kind {kind!r}")
        known = {"after", "hangup_after", "sip_code", "label", "code", "play", "dtmf"}
        extra = set(data) - known - {"kind"}
        if extra:
            raise SimError(f"unknown behaviour fields {sorted(extra)}")
        made = {
            "answer": cls.answer(),
            "busy": cls.busy(),
            "congestion": cls.congestion(),
            "no_answer": cls.no_answer(),
            "rejected": cls.rejected(),
            "unreachable": cls.unreachable(),
        }[kind]

        return replace(made, **{k: v for k, v in data.items() if k in known})


Distribution = tuple[float, float] | Callable[[random.Random], float]


def _draw(rng: random.Random, spec: Distribution) -> float:
    if callable(spec):
        return float(spec(rng))
    low, high = spec

    return rng.uniform(low, high)


@dataclass
class RandomModel:
    """
    Random outcomes for demos and benchmarks.

    ``answer_rate`` of calls answer after a ring time drawn from ``ring`` and
    talk for a time drawn from ``talk`` (``(low, high)`` uniform, or a
    function of a ``random.Random``); the rest fail as ``failures`` weights.
    """

    answer_rate: float = 0.6
    ring: Distribution = (2.0, 10.0)
    talk: Distribution = (10.0, 60.0)
    failures: dict[str, float] | None = None

    def pick(self, rng: random.Random) -> Behaviour:
        """Draw the behaviour of one call."""
        ring = _draw(rng, self.ring)
        if rng.random() < self.answer_rate:
            return Behaviour.answer(after=ring, hangup_after=_draw(rng, self.talk))
        weights = self.failures or {
            "no_answer": 0.5,
            "busy": 0.3,
            "rejected": 0.1,
            "congestion": 0.1,
        }
        kind = rng.choices(list(weights), list(weights.values()))[0]
        if kind == "no_answer":
            return Behaviour.no_answer()
        factory: Callable[..., Behaviour] = getattr(Behaviour, kind)

        return factory(after=ring if kind != "busy" else min(ring, 3.0))

    def to_json(self) -> dict[str, Any]:
        """A plain dict for the HTTP control API (tuple distributions only)."""
        return {
            "answer_rate": self.answer_rate,
            "ring": list(self.ring) if not callable(self.ring) else None,
            "talk": list(self.talk) if not callable(self.talk) else None,
            "failures": self.failures,
        }


Model = Behaviour | RandomModel


def normalise_number(number: str) -> str:
    """Rules and lookups ignore a leading ``+``."""
    return number[1:] if number.startswith("+") else number


class PartyRules:
    """The number -> behaviour table of customers reached through trunks."""

    def __init__(self, rng: random.Random) -> None:
        self.default: Model = Behaviour.answer(after=2.0, hangup_after=30.0)
        self._rng = rng
        self._exact: dict[str, Model] = {}
        self._patterns: list[tuple[str | re.Pattern[str], Model]] = []

    def set(self, pattern: str | re.Pattern[str], behaviour: Model) -> None:
        """Map a number, a shell pattern (``7999*``) or a regex to a behaviour."""
        if isinstance(pattern, str) and not any(c in pattern for c in "*?["):
            self._exact[normalise_number(pattern)] = behaviour
            return
        self._patterns = [(p, b) for p, b in self._patterns if p != pattern]
        self._patterns.append((pattern, behaviour))

    def clear(self) -> None:
        """Drop every rule (the default stays)."""
        self._exact.clear()
        self._patterns.clear()

    def model_for(self, number: str) -> Model:
        """The rule (or default) that applies to ``number``."""
        number = normalise_number(number)
        found = self._exact.get(number)
        if found is not None:
            return found
        for pattern, behaviour in reversed(self._patterns):
            if isinstance(pattern, re.Pattern):
                if pattern.fullmatch(number):
                    return behaviour
            elif fnmatch.fnmatchcase(number, normalise_number(pattern)):
                return behaviour

        return self.default

    def resolve(self, number: str) -> Behaviour:
        """The behaviour of one call to ``number`` (random models draw here)."""
        model = self.model_for(number)
        if isinstance(model, RandomModel):
            return model.pick(self._rng)

        return model

    def to_json(self) -> dict[str, Any]:
        """The table as plain data."""
        rules = [{"match": k, "behaviour": v.to_json()} for k, v in self._exact.items()]
        for pattern, model in self._patterns:
            text = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
            rules.append({"match": text, "behaviour": model.to_json()})

        return {"rules": rules, "default": self.default.to_json()}


# The test dialplan behind the reference traces (Local/<n>@sim-customers).
TRACE_DIALPLAN = {
    "79990000001": replace(
        Behaviour.answer(1.0, 20.0), label="answer-20s-then-hangup", code="01"
    ),
    "79990000002": replace(Behaviour.busy(), code="02"),
    "79990000003": replace(Behaviour.no_answer(), code="03"),
    "79990000004": replace(Behaviour.congestion(), code="04"),
    "79990000005": replace(
        Behaviour.answer(1.0, 2.0), label="answer-2s-then-hangup", code="05"
    ),
    "79990000006": replace(
        Behaviour.answer(1.0),
        label="answer-play-then-wait",
        code="06",
        play="demo-congrats",
    ),
    "79990000007": replace(Behaviour.answer(1.0), code="07"),
    "79990000008": replace(
        Behaviour("rejected", 1.0, sip_code=603), label="reject", code="08"
    ),
}


def load_trace_dialplan(rules: PartyRules) -> None:
    """Make the numbers of the reference traces behave as they did there."""
    for number, behaviour in TRACE_DIALPLAN.items():
        rules.set(number, behaviour)
