"""`vigil rules export` and `vigil rules apply` as a person runs them: a dry run shows the
plan and changes nothing, a file with problems names each and applies nothing, the same file
twice changes nothing, and an export applies back to no change."""

from __future__ import annotations

from tests.alerts.test_rulebook import BAD, GOOD
from tests.unit.test_cli import vigil


def test_a_rules_file_is_planned_applied_once_and_exported_back(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(GOOD)
    data = {"data_dir": tmp_path / "data"}

    dry = vigil("rules", "apply", str(rules), "--dry-run", **data)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        "+ add rule 'Checkout latency'",
        "+ add rule 'Everything in prod'",
        "~ silence 'checkout-eu-1' for rule 'Checkout latency' until 2099-01-01T00:00:00+00:00",
        "Dry run: 3 changes, none made.",
    ]

    done = vigil("rules", "apply", str(rules), **data)
    assert done.stdout.splitlines()[-1] == "Applied 3 changes."
    again = vigil("rules", "apply", str(rules), **data)
    assert again.stdout == "Nothing to change: the rules match rules.yaml.\n"

    exported = vigil("rules", "export", **data)
    assert exported.returncode == 0, exported.stderr
    (tmp_path / "exported.yaml").write_text(exported.stdout)
    back = vigil("rules", "apply", str(tmp_path / "exported.yaml"), **data)
    assert back.stdout == "Nothing to change: the rules match exported.yaml.\n"


def test_a_rules_file_with_problems_names_each_and_applies_nothing(tmp_path):
    rules = tmp_path / "team.yaml"
    rules.write_text(BAD)
    data = {"data_dir": tmp_path / "data"}

    refused = vigil("rules", "apply", str(rules), **data)

    assert refused.returncode == 2
    lines = refused.stderr.splitlines()
    assert "vigil: error: team.yaml has 12 problems; nothing was applied:" in lines
    assert (
        "  team.yaml:9: rule 'Second': direction 'sideways' is not one of either, above, below."
        in lines
    )
    assert "Traceback" not in refused.stderr
    assert vigil("rules", "export", **data).stdout.endswith("rules: []\n")
    missing = vigil("rules", "apply", str(tmp_path / "none.yaml"), **data)
    assert missing.returncode == 2
    assert "Cannot read" in missing.stderr


def test_a_test_webhook_is_signed_with_the_secret_vigil_prints(tmp_path):
    from standardwebhooks import Webhook as Verifier

    from tests.alerts.webhook_server import Answer, Receiver

    data = {"data_dir": tmp_path / "data", "public_url": "https://vigil.example.org"}
    receiver = Receiver(answers=[Answer(204), Answer(404, body=b"no such hook")]).start()
    try:
        took = vigil("rules", "test-webhook", receiver.url, "--format", "slack", **data)
        refused = vigil("rules", "test-webhook", receiver.url, **data)
    finally:
        receiver.stop()
    secret = vigil("rules", "webhook-secret", **data)
    down = vigil("rules", "test-webhook", receiver.url, **data)
    scheme = vigil("rules", "test-webhook", "gopher://hooks.example.org/x", **data)

    assert took.returncode == 0, took.stderr
    assert took.stdout == f"http://127.0.0.1:{receiver.port}/… took the test notification.\n"
    assert secret.stdout.startswith("whsec_")
    slack = Verifier(secret.stdout.strip()).verify(
        receiver.calls[0].body, receiver.calls[0].headers
    )
    assert slack["text"].endswith("<https://vigil.example.org|Open Vigil>")
    assert refused.returncode == 2
    assert (
        f"http://127.0.0.1:{receiver.port}/… did not take the test (404 Not Found: no such "
        "hook): it will not work as it is." in refused.stderr
    )
    assert down.returncode == 2
    assert "cannot reach" in down.stderr
    assert "it may work later" in down.stderr
    assert scheme.returncode == 2
    assert "is not an http or https address (its scheme is gopher)" in scheme.stderr
    for result in (took, refused, down, scheme):
        assert "Traceback" not in result.stderr
        assert "vigil-7f3a" not in result.stdout + result.stderr  # the path stays private
