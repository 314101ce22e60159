"""An Answerer stand-in for the app, and the realistic answers it gives (shared by the handler and browser tests)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator, Sequence

from kamerbron.records import Answer, AnswerUpdate, Citation, Filters, Passage
from tests.fakes.records import make_passage

URL_AO = "https://zoek.officielebekendmakingen.nl/kst-28638-163.html"
CAPACITY_SENTENCE = (
    "Op dit moment is de inhaalslag gemaakt en is de bezetting van de AVIM wat betreft mensenhandel weer op sterkte."
)
HARBERS_TEXT = (
    "Dan de vragen over de capaciteit. Is er voldoende capaciteit? Hoe staat het met de middelen die bij het "
    "regeerakkoord zijn uitgetrokken? Van de totale AVIM – het onderdeel van de politie dat zich bezighoudt met "
    "vreemdeling-rechtelijke taken, identificatie en mensenhandel – is ongeveer een derde van de formatie "
    "beschikbaar voor de aanpak van mensenhandel en migratiecriminaliteit. De afgelopen jaren zat daar een "
    "probleem omdat niet alle vacatures waren ingevuld. Een paar jaar geleden, ten tijde van de hoge "
    "migratie-instroom, werd er zo'n hoog beroep gedaan op de AVIM dat daar mensen tijdelijk zijn ingezet voor de "
    "identificatie en registratie van asielzoekers in Nederland. " + CAPACITY_SENTENCE + " Dat heeft enige tijd "
    "geduurd, maar uiteindelijk zijn er 375 fte binnen de AVIM beschikbaar voor de researchcapaciteit op "
    "mensenhandel. Dat is in overeenstemming met alle afspraken. Die mensen zijn er dus ook echt."
)
CAPACITY_QUESTION = "Wat antwoordde de minister op de vragen van de SP over de capaciteit van de politie?"


def ao_passage(n: int, **fields) -> Passage:
    """Passage ``n`` of the 2018 general consultation on human trafficking (Harbers speaking, unless overridden)."""
    return make_passage(
        **(
            {
                "chunk_id": f"000_528fd6ff245c8aa8:{n}",
                "doc_id": "kst-28638-163",
                "source_file": "000_528fd6ff245c8aa8.txt",
                "turn_index": n,
                "speaker": "Staatssecretaris Harbers",
                "surname": "Harbers",
                "role": "Staatssecretaris van Justitie en Veiligheid",
                "doc_type": "verslag",
                "doc_title": "Verslag van een algemeen overleg over mensenhandel",
                "date": "2018-09-27",
                "url": URL_AO,
                "text": f"Passage {n} over mensenhandel.",
                "score": 1.0 / n,
                "rank": n,
                "via": "hit",
            }
            | fields
        )
    )


def capacity_answer(question: str = CAPACITY_QUESTION) -> Answer:
    """A realistic answer with two citations and one retrieved passage that is not cited."""
    harbers = ao_passage(1, text=HARBERS_TEXT)
    sp = ao_passage(
        2,
        speaker="Mevrouw Van Nispen",
        surname="Van Nispen",
        party="SP",
        role="",
        text=(
            "De SP blijft dus veel zorgen houden over de aanpak, bijvoorbeeld over de politiecapaciteit om "
            "mensenhandel aan te pakken."
        ),
    )
    other = ao_passage(
        3,
        speaker="De heer Segers",
        surname="Segers",
        party="ChristenUnie",
        role="",
        text="Ook de gemeenten moeten erkennen dat mensenhandel overal voorkomt.",
    )
    citations = [Citation.from_passage(1, sp, [sp.text]), Citation.from_passage(2, harbers, [CAPACITY_SENTENCE])]
    return Answer(
        question=question,
        answer=(
            "De SP maakte zich zorgen over de politiecapaciteit voor de aanpak van mensenhandel [1]. "
            "De staatssecretaris antwoordde dat de bezetting van de AVIM weer op sterkte is [2]."
        ),
        citations=citations,
        retrieved=[harbers, sp, other],
        timings_ms={"retrieve": 12.0, "answer": 3.0},
        settings_hash="abc123def456",
    )


def refusal_answer(question: str = "Wat vindt de Kamer van kernenergie?") -> Answer:
    return Answer(
        question=question,
        answer="Op deze vraag geven de gevonden passages geen antwoord.",
        refused=True,
        retrieved=[ao_passage(i, text=f"Dichtbije passage {i} over prostitutiebeleid.") for i in range(1, 6)],
        settings_hash="abc123def456",
    )


class FakeAnswerer:
    """Stands in for rag.answer.Answerer: replies from a queue (answers or exceptions), records calls."""

    FACETS = {
        "parties": ["CDA", "ChristenUnie", "D66", "SP", "VVD"],
        "speakers": ["Harbers", "Segers", "Van Nispen"],
        "documents": [
            {
                "doc_id": "kst-28638-163",
                "source_file": "000_528fd6ff245c8aa8.txt",
                "title": "Verslag van een algemeen overleg over mensenhandel",
                "date": "2018-09-27",
            },
        ],
        "date_min": "2017-02-16",
        "date_max": "2024-05-01",
    }

    def __init__(self, replies: Sequence[Answer | Exception] = ()) -> None:
        self.replies: deque = deque(replies)
        self.calls: list[dict] = []
        self.lock = threading.Lock()

    def _next(self, kind: str, question: str, history, filters) -> Answer:
        with self.lock:
            self.calls.append({"kind": kind, "question": question, "history": list(history), "filters": filters})
            reply = self.replies.popleft() if self.replies else capacity_answer(question)
        if isinstance(reply, Exception):
            raise reply
        return reply.model_copy(update={"question": question})

    def answer(self, question: str, *, history=(), filters: Filters | None = None) -> Answer:
        return self._next("answer", question, history, filters)

    def stream(self, question: str, *, history=(), filters: Filters | None = None) -> Iterator[AnswerUpdate]:
        final = self._next("stream", question, history, filters)
        words = final.answer.split(" ")
        half = " ".join(words[: len(words) // 2])
        yield AnswerUpdate(text=half)
        yield AnswerUpdate(text=final.answer)
        yield AnswerUpdate(text=final.answer, final=final)

    def facets(self) -> dict:
        return self.FACETS
