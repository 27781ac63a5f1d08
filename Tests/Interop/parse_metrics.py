"""Parses Prometheus text exposition from stdin with prometheus_client's own parser and prints the samples as
JSON: [{"family", "type", "name", "labels", "value"}]. A format error makes the parser raise, and the script
exit non-zero."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

samples = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for sample in family.samples:
        samples.append({"family": family.name, "type": family.type, "name": sample.name,
                        "labels": dict(sample.labels), "value": sample.value})
json.dump(samples, sys.stdout)
