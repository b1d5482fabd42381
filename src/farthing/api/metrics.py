"""Metrics in Prometheus' text format at `GET /metrics` (operator key), with `prometheus-client`.

Two kinds. Counted per request by `farthing.api.observe`: requests by method, route and status with
latency, refusals by problem code, payments by outcome. Read from the platform when scraped
(`PlatformCollector`), so nothing on the payment path writes them: ledger batches (count, size, write
seconds, queue depth, retries after another writer), store reconnections, the history projection's lag,
webhook deliveries due.

Each application has a registry of its own (several in one test process never mix).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from farthing.engine.write_stats import Histogram as StatsHistogram

if TYPE_CHECKING:
    from farthing.bootstrap import Platform

disable_created_metrics()  # a `_created` series beside every counter doubles the page and tells nothing here

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
PAYMENT_ROUTES = frozenset({"/v1/payments", "/v1/payments/batch"})


class HttpMetrics:
    """Counted per request by the event loop's thread, as plain numbers (a `prometheus_client` counter
    takes a lock and a label look-up per increment: measured, it was most of what observing a request
    cost); turned into metric families when scraped."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = {}
        self.latency: dict[tuple[str, str], StatsHistogram] = {}
        self.refusals: dict[tuple[str, str], int] = {}
        self.payments: dict[tuple[str, str], int] = {}

    def observe(self, method: str, route: str, status: int, seconds: float, code: str | None) -> None:
        key = (method, route, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        timed = self.latency.get((method, route))
        if timed is None:
            timed = self.latency[(method, route)] = StatsHistogram(LATENCY_BUCKETS)
        timed.observe(seconds)
        if code is not None:
            self.refusals[(route, code)] = self.refusals.get((route, code), 0) + 1
        if method == "POST" and route in PAYMENT_ROUTES:
            outcome = "succeeded" if status < 300 else "unknown" if code == "outcome_unknown" else "refused"
            self.payments[(outcome, code or "")] = self.payments.get((outcome, code or ""), 0) + 1


class HttpCollector(Collector):
    def __init__(self, counts: HttpMetrics) -> None:
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        c = self.counts
        requests = CounterMetricFamily("farthing_http_requests", "HTTP requests answered",
                                       labels=["method", "route", "status"])  # fmt: skip
        for (method, route, status), n in list(c.requests.items()):
            requests.add_metric([method, route, str(status)], n)
        yield requests
        latency = HistogramMetricFamily("farthing_http_request_seconds", "Time to answer, by route",
                                        labels=["method", "route"])  # fmt: skip
        for (method, route), timed in list(c.latency.items()):
            latency.add_metric([method, route], _buckets(timed), sum_value=timed.sum)
        yield latency
        refusals = CounterMetricFamily("farthing_http_refusals", "Requests refused with a problem, by its code",
                                       labels=["route", "code"])  # fmt: skip
        for labels, n in list(c.refusals.items()):
            refusals.add_metric(list(labels), n)
        yield refusals
        payments = CounterMetricFamily(
            "farthing_payment_requests", "Payment requests by outcome (succeeded, refused, unknown) and refusal code",
            labels=["outcome", "code"],
        )  # fmt: skip
        for labels, n in list(c.payments.items()):
            payments.add_metric(list(labels), n)
        yield payments


def _buckets(stats: StatsHistogram) -> list[tuple[str, float]]:
    return [("+Inf" if bound == float("inf") else repr(float(bound)), count) for bound, count in stats.cumulative()]


def _histogram(name: str, doc: str, stats: StatsHistogram) -> HistogramMetricFamily:
    return HistogramMetricFamily(name, doc, buckets=_buckets(stats), sum_value=stats.sum)


class PlatformCollector(Collector):
    """The platform's state, read when scraped."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def collect(self) -> Iterator[Metric]:
        ledger = self.platform.ledger
        engine = ledger.engine
        yield CounterMetricFamily("farthing_ledger_batches", "Ledger batches committed", value=engine.batches_committed)
        yield _histogram("farthing_ledger_batch_events", "Events per committed batch", engine.writes.events)
        yield _histogram("farthing_ledger_commit_seconds", "Time to write and commit a batch", engine.writes.seconds)
        yield GaugeMetricFamily("farthing_ledger_queue_depth", "Requests waiting for a batch", value=ledger.queue_depth)
        yield CounterMetricFamily(
            "farthing_ledger_head_moved_retries", "Batches validated again after another process committed first",
            value=ledger.head_moved_retries,
        )  # fmt: skip
        store = engine.store
        yield CounterMetricFamily(
            "farthing_store_reconnections", "Database connections replaced after the server dropped them",
            value=getattr(store, "reconnections", 0) + self.platform.db.reconnections,
        )  # fmt: skip
        yield GaugeMetricFamily("farthing_ledger_head_seq", "The last committed event's sequence number",
                                value=engine.head.last_seq)  # fmt: skip
        decided = CounterMetricFamily(
            "farthing_policy_decisions", "Policy decisions by outcome and by the rule that refused, asked for "
            "strong authentication or exempted from it", labels=["outcome", "rule"],
        )  # fmt: skip
        for (outcome, rule), count in sorted(self.platform.policy.decided.items()):
            decided.add_metric([outcome, rule], count)
        yield decided
        risk = self.platform.risk
        assessed = CounterMetricFamily("farthing_risk_assessments", "Payments scored by the risk engine, by outcome",
                                       labels=["outcome"])  # fmt: skip
        for outcome, count in sorted(risk.outcomes.items()):
            assessed.add_metric([outcome], count)
        yield assessed
        yield GaugeMetricFamily("farthing_risk_model_labels", "Labels the behavioural model learned from",
                                value=sum(risk.model.labelled.values()))  # fmt: skip
        webhooks = self.platform.webhooks
        deliveries = CounterMetricFamily("farthing_webhook_attempts", "Webhook delivery attempts by outcome",
                                         labels=["outcome"])  # fmt: skip
        deliveries.add_metric(["delivered"], webhooks.attempted[True])
        deliveries.add_metric(["failed"], webhooks.attempted[False])
        yield deliveries
        try:
            backlog = webhooks.backlog()
        except Exception:  # the store is away: not known, and a scrape must still answer
            backlog = -1
        yield GaugeMetricFamily("farthing_webhook_backlog_events", "Events not yet delivered (-1: unknown)",
                                value=backlog)  # fmt: skip
        try:
            lag = engine.head.last_seq - self.platform.history.folded_seq()
        except Exception:  # the store is away: the lag is not known, and a scrape must still answer
            lag = -1
        yield GaugeMetricFamily(
            "farthing_history_lag_events", "Ledger events the history projection has yet to fold (-1: unknown)",
            value=lag,
        )  # fmt: skip
