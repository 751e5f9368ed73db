"""The `vigil` command, run as a user runs it: a real process, real files."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from tests.conftest import app_database
from tests.hostile import REFUSED
from tests.settings import SETTINGS, make_settings, server_environment
from vigil.detection.scored import SCORED_COLUMNS
from vigil.detection.synthetic import demo_csv, labelled_series, seasonal_series
from vigil.storage.files import FileStore
from vigil.stores.results import ResultStore


def vigil(
    *args: str, cwd=None, stdin: str | None = None, **settings: object
) -> subprocess.CompletedProcess:
    """`vigil ARGS` with these settings (by field name, `data_dir=path`; the run's data
    directory unless they name one), and no other VIGIL_* variable."""
    return subprocess.run(
        [sys.executable, "-m", "vigil.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env=server_environment(**{"data_dir": SETTINGS.data_dir, **settings}),
    )


def test_detect_writes_one_scored_row_per_input_row(tmp_path):
    source = tmp_path / "one.csv"
    seasonal_series(n=2000, spike_at=1200).to_csv(source, index=False)
    output = tmp_path / "scored.csv"

    done = vigil(
        "detect",
        str(source),
        "--detector",
        "zscore",
        "--param",
        "threshold=4",
        "--output",
        str(output),
    )

    assert done.returncode == 0, done.stderr
    scored = pd.read_csv(output)
    assert tuple(scored.columns) == SCORED_COLUMNS
    assert len(scored) == 2000
    assert scored.loc[1200, "is_anomaly"]
    assert "value: 2,000 points" in done.stdout


def test_detect_online_scores_from_earlier_points_and_reports_the_warm_up(tmp_path):
    source = tmp_path / "one.csv"
    seasonal_series(n=2000, spike_at=1200).to_csv(source, index=False)
    output = tmp_path / "scored.csv"

    done = vigil("detect", str(source), "-d", "zscore", "--online", "--output", str(output))

    assert done.returncode == 0, done.stderr
    scored = pd.read_csv(output)
    assert scored.loc[1200, "is_anomaly"]
    assert scored["severity"].iloc[:96].isna().all()
    unjudged = int(scored["severity"].notna().to_numpy().argmax())
    assert f"the first {unjudged} points learnt from, not judged" in done.stdout


def test_detect_online_writes_parquet_and_says_how_long_auto_learnt(tmp_path):
    source = tmp_path / "one.csv"
    seasonal_series(n=2000, spike_at=1200).to_csv(source, index=False)
    output = tmp_path / "scored.parquet"

    done = vigil("detect", str(source), "--online", "--output", str(output))

    assert done.returncode == 0, done.stderr
    scored = pd.read_parquet(output)
    assert len(scored) == 2000
    assert {"episode", "onset"} <= set(scored.columns)
    assert "the first 1,440 points learnt from, not judged" in done.stdout


def test_detect_adds_a_series_column_when_there_are_several(tmp_path):
    source = tmp_path / "demo.csv"
    source.write_bytes(demo_csv())
    output = tmp_path / "out.parquet"

    done = vigil(
        "detect",
        str(source),
        "-d",
        "stl",
        "-o",
        str(output),
        "--value-column",
        "latency_ms",
        "--value-column",
        "temperature_c",
        "--episodes",
        str(tmp_path / "episodes.csv"),
    )

    assert done.returncode == 0, done.stderr
    scored = pd.read_parquet(output)
    assert scored.columns[0] == "series"
    assert set(scored["series"]) == {"latency_ms", "temperature_c"}
    assert len(scored) == 2 * 2652
    episodes = pd.read_csv(tmp_path / "episodes.csv")
    assert episodes.columns[0] == "series"
    assert len(episodes) == scored["onset"].sum() > 0
    for name in ("latency_ms", "temperature_c"):
        mine = scored[scored["series"] == name]
        count = f"{mine['episode'].nunique()} episode"
        assert f"{name}: 2,652 points, {count}" in done.stdout


@pytest.mark.parametrize("case", ["empty", "no_timestamp", "binary", "header_only"])
def test_bad_input_exits_non_zero_with_one_line(tmp_path, case):
    filename, data, fragment = REFUSED[case]
    source = tmp_path / filename
    source.write_bytes(data)

    done = vigil("detect", str(source), "-o", str(tmp_path / "x.csv"))

    assert done.returncode == 2
    where, error = done.stderr.splitlines()  # the data it uses, then one line of error
    assert where.startswith("vigil: data in ")
    assert error.startswith("vigil: error: ")
    assert fragment in error
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "x.csv").exists()


def test_bad_parameters_name_what_is_allowed(tmp_path):
    source = tmp_path / "one.csv"
    seasonal_series(n=300).to_csv(source, index=False)
    done = vigil(
        "detect", str(source), "-d", "zscore", "-p", "window=5000", "-o", str(tmp_path / "x.csv")
    )
    assert done.returncode == 2
    assert "longer than the series" in done.stderr


def labelled_file(tmp_path, labels_fix=None):
    series = seasonal_series(n=144 * 10, step="10min", seed=9)
    series["label"] = 0
    for position in (200, 700, 1200):
        series.loc[position, "value"] += 9
        series.loc[position, "label"] = 1
    if labels_fix:
        labels_fix(series)
    path = tmp_path / "labelled.csv"
    series.to_csv(path, index=False)
    return path


def test_evaluate_prints_point_and_event_scores_per_detector(tmp_path):
    done = vigil("evaluate", str(labelled_file(tmp_path)), "--label-column", "label", "-d", "stl")
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.strip().splitlines()
    assert header.split()[:3] == ["detector", "series", "point"]
    assert header.split()[-2:] == ["found", "false/day"]
    assert row.split() == [
        *("stl", "value", "1.00", "1.00", "1.00", "1.00", "1.00", "1.00"),
        *("3/3", "0.00"),  # every window found, no false episode
    ]


def test_evaluate_counts_false_episodes_per_series_day_over_several_series(tmp_path):
    def another_series_with_an_unlabelled_spike(series):
        series["other"] = series["value"]
        series.loc[1000, "other"] += 9

    path = labelled_file(tmp_path, another_series_with_an_unlabelled_spike)

    done = vigil("evaluate", str(path), "--label-column", "label", "-d", "stl")

    assert done.returncode == 0, done.stderr
    table, total = done.stdout.strip().split("\n\n")
    _, value, other = table.splitlines()
    days = 10 - 1 / 144  # ten days of ten-minute points, first to last
    assert value.split()[-2:] == ["3/3", "0.00"]
    assert other.split()[-2:] == ["3/3", f"{1 / days:.2f}"]  # the spike at row 1000
    assert total.splitlines() == [
        f"Over 2 series ({2 * days:.1f} series-days):",
        f"stl        windows found 6/6, false episodes 1 = {1 / (2 * days):.2f} per series-day",
    ]


@pytest.mark.parametrize(
    ("fix", "message"),
    [
        (lambda s: s.__setitem__("label", 0), "no positive label"),
        (
            lambda s: s.__setitem__("label", s["label"] * 3),
            "must hold 0/1 (or true/false); it also holds 3",
        ),
    ],
)
def test_evaluate_explains_unusable_labels(tmp_path, fix, message):
    done = vigil("evaluate", str(labelled_file(tmp_path, fix)), "--label-column", "label")
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""


def test_evaluate_reads_anomaly_windows_from_a_second_file(tmp_path):
    series = labelled_series("dip", seed=0)
    data = tmp_path / "series.csv"
    series.drop(columns="label").to_csv(data, index=False)
    inside = series.loc[series["label"] == 1, "timestamp"]
    windows = tmp_path / "windows.csv"
    pd.DataFrame({"start": [inside.min()], "end": [inside.max()]}).to_csv(windows, index=False)

    done = vigil(
        "evaluate", str(data), "--windows", str(windows), "-d", "ensemble", "--budget", "2"
    )

    assert done.returncode == 0, done.stderr
    header, row = done.stdout.strip().splitlines()
    assert "budget thr" in header
    cells = row.split()
    assert cells[:2] == ["ensemble", "value"]
    assert cells[6] == "1.00"  # the one window was found
    assert float(cells[-1]) == 1.0  # and still found within 2 flags a day


def test_evaluate_says_when_the_budget_never_binds_in_the_words_the_page_uses(tmp_path):
    data = tmp_path / "series.csv"
    labelled_series("spike", seed=0).to_csv(data, index=False)

    done = vigil(
        "evaluate", str(data), "--label-column", "label", "-d", "zscore", "--budget", "500"
    )

    assert done.returncode == 0, done.stderr
    row = done.stdout.strip().splitlines()[1]
    assert row.endswith("never binds")  # no threshold 0.00 and recall 1.00 to mislead


def test_evaluate_refuses_windows_that_are_not_of_this_data(tmp_path):
    data = tmp_path / "series.csv"
    labelled_series("dip", seed=0).drop(columns="label").to_csv(data, index=False)
    windows = tmp_path / "windows.csv"
    windows.write_text("start,end\n2031-05-01 00:00,2031-05-02 00:00\n")

    done = vigil("evaluate", str(data), "--windows", str(windows))

    assert done.returncode == 2
    assert "cover no timestamp of this series" in done.stderr


def test_train_once_then_detect_on_new_data_with_the_model(tmp_path):
    series = labelled_series("spike", seed=2, days=21).rename(columns={"value": "cpu"})
    series = series.drop(columns="label")
    series.iloc[:1344].to_csv(tmp_path / "old.csv", index=False)
    series.iloc[1344:].to_csv(tmp_path / "new.csv", index=False)
    series.iloc[1344:].rename(columns={"cpu": "mem"}).to_csv(tmp_path / "other.csv", index=False)
    model, output = tmp_path / "cpu.vigil", tmp_path / "scored.csv"
    own = {"data_dir": tmp_path / "data"}  # its key, rules and outbox

    trained = vigil("train", "old.csv", "--model", str(model), cwd=tmp_path, **own)
    applied = vigil(
        "detect", "new.csv", "--model", str(model), "-o", str(output), cwd=tmp_path, **own
    )
    elsewhere = vigil(
        "detect", "other.csv", "--model", str(model), "-o", "x.csv", cwd=tmp_path, **own
    )

    assert trained.returncode == 0, trained.stderr
    assert "Trained Automatic on 1,344 points of cpu" in trained.stdout
    assert applied.returncode == 0, applied.stderr
    assert "model cpu.vigil" in applied.stdout
    assert len(pd.read_csv(output)) == 672
    assert elsewhere.returncode == 2
    assert "trained on the series 'cpu'; the file has no series of that name" in elsewhere.stderr

    from vigil.alerts.rules import Rule, RuleStore
    from vigil.stores.models import model_id_of

    watched = f"model:{model_id_of(model.read_bytes())}"
    RuleStore(app_database(tmp_path / "data")).save(Rule("cpu model", "cpu", ("o@x.org",), watched))
    alerted = vigil(
        "detect", "new.csv", "--model", str(model), "--alert", "-o", "a.csv", cwd=tmp_path, **own
    )
    assert alerted.returncode == 0, alerted.stderr
    assert "cpu: 1 rule watching" in alerted.stdout


@pytest.mark.parametrize("signature", ["é" * 64, "0" * 64], ids=["not ASCII", "forged"])
def test_detect_with_a_model_file_that_is_not_ours_says_so_in_one_line(tmp_path, signature):
    import zipfile

    seasonal_series(n=300).to_csv(tmp_path / "new.csv", index=False)
    forged = tmp_path / "forged.vigil"
    with zipfile.ZipFile(forged, "w") as archive:
        archive.writestr("meta.json", '{"format": "vigil-model", "format_version": 2}')
        archive.writestr("model.pickle", b"anything")
        archive.writestr("signature", signature.encode())

    done = vigil("detect", "new.csv", "--model", str(forged), "-o", "x.csv", cwd=tmp_path)

    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("vigil: error: This model file was")
    assert "Traceback" not in done.stderr


def test_alerts_flush_delivers_the_outbox_and_says_what_is_left(tmp_path):
    from tests.alerts.smtp_server import Recorder, free_port, start_server
    from vigil.alerts.outbox import Outbox

    box = Outbox(app_database(tmp_path))
    for number in (1, 2):
        message = EmailMessage()
        message["To"] = "ops@example.org"
        message["Subject"] = f"alert {number}"
        message.set_content("body")
        box.add(message)
    recorder = Recorder(replies=["550 5.1.1 No such user"])
    server = start_server(recorder)
    mail = {"data_dir": tmp_path, "smtp_host": "127.0.0.1"}
    try:
        done = vigil("alerts", "flush", **mail, smtp_port=server.port)
    finally:
        server.stop()
    unset = vigil("alerts", "flush", data_dir=tmp_path, smtp_host="")
    down = vigil("alerts", "flush", **mail, smtp_port=free_port())

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "Sent 1 email; 0 still pending (0 just now failed and will be retried), 1 failed."
    )
    assert [m["Subject"] for m in recorder.received] == ["alert 2"]
    assert unset.returncode == 2
    assert "No SMTP server is set" in unset.stderr
    assert down.returncode == 0
    assert "Sent 0 emails" in down.stdout


def test_detect_with_alert_emails_the_flagged_points_escaped_with_the_chart(tmp_path):
    from tests.alerts.smtp_server import Recorder, start_server
    from vigil.alerts.rules import Rule, RuleStore

    hostile = "<b>cpu</b> & co"
    source = tmp_path / "spiky.csv"
    seasonal_series(n=2000, spike_at=1200).rename(columns={"value": hostile}).to_csv(
        source, index=False
    )
    rules = RuleStore(app_database(tmp_path / "data"))
    rules.save(Rule("everything", "*", ("ops@example.org",), detector="zscore", group_minutes=0))
    rules.save(Rule("other detector", "*", ("nobody@example.org",), detector="stl"))
    recorder = Recorder()
    server = start_server(recorder)
    given = {
        "data_dir": tmp_path / "data",
        "smtp_host": "127.0.0.1",
        "smtp_port": server.port,
        "public_url": "https://vigil.example.org",
    }
    try:
        done = vigil(
            "detect", str(source), "-d", "zscore", "--alert", "-o", "out.csv", cwd=tmp_path, **given
        )
    finally:
        server.stop()

    assert done.returncode == 0, done.stderr
    assert f"{hostile}: 1 rule watching, 1 new anomaly episode, 1 email queued." in done.stdout
    assert "Sent 1 email; 0 still pending" in done.stdout
    (message,) = recorder.received
    assert message["Subject"].startswith(f"ALERT · {hostile} (spiky.csv) was ")
    html = message.get_body(("html",)).get_content()
    assert "&lt;b&gt;cpu&lt;/b&gt; &amp; co" in html
    assert "<b>cpu</b>" not in html
    assert any(part.get_content_type() == "image/png" for part in message.walk())
    # "Open in Vigil" shows the result this run stored, rather than running it again
    text = message.get_body(("plain",)).get_content()
    link = parse_qs(urlsplit(re.search(r"Open in Vigil: (\S+)", text).group(1)).query)
    assert (link["detector"], link["series"]) == (["zscore"], [hostile])
    files = FileStore(make_settings(tmp_path / "data").files_url)
    scored, run = ResultStore(files).load(link["result"][0])
    assert (run["dataset_id"], run["series"], run["detector"]) == (
        link["dataset"][0],
        hostile,
        "zscore",
    )
    assert int(scored["is_anomaly"].sum()) >= 1


def test_db_commands_make_the_schema_and_say_where_it_is(tmp_path):
    before = vigil("db", "current", data_dir=tmp_path)
    made = vigil("db", "upgrade", data_dir=tmp_path)
    after = vigil("db", "current", data_dir=tmp_path)

    assert before.returncode == 0, before.stderr
    assert "no schema yet" in before.stdout
    assert made.returncode == 0, made.stderr
    assert f"{tmp_path / 'vigil.sqlite'} is at revision" in made.stdout
    assert "(the newest)" in after.stdout


def test_a_database_that_cannot_be_reached_is_one_clear_line_without_its_password(tmp_path):
    from tests.alerts.smtp_server import free_port

    refused = f"postgresql://vigil:s3cret-word@127.0.0.1:{free_port()}/vigil"
    for args in (("db", "upgrade"), ("tokens", "list"), ("run",)):
        done = vigil(*args, data_dir=tmp_path, database_url=refused)
        assert done.returncode == 1
        error = done.stderr.splitlines()[-1]
        assert error.startswith("Error: Cannot open the database postgresql://vigil:***@")
        assert "s3cret-word" not in done.stdout + done.stderr
        assert "Traceback" not in done.stderr
    unknown = vigil("db", "upgrade", database_url="mysql://a@db/vigil")
    assert "Vigil keeps its state in SQLite or Postgres, not 'mysql'" in unknown.stderr


def test_tokens_made_in_any_directory_go_to_the_one_per_user_data_directory(tmp_path):
    """Without VIGIL_DATA_DIR, every command uses the user's data directory (as the server
    does), wherever it is run, and says so on stderr."""
    env = server_environment() | {"XDG_DATA_HOME": str(tmp_path / "share"), "HOME": str(tmp_path)}
    here, there = tmp_path / "project", tmp_path / "elsewhere"
    here.mkdir()
    there.mkdir()

    def run(*args: str, cwd) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "vigil.cli", *args],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=cwd,
            env=env | {"PYTHONPATH": os.getcwd()},
        )

    made = run("tokens", "add", "collector", cwd=there)
    listed = run("tokens", "list", cwd=here)

    assert made.returncode == 0, made.stderr
    data = tmp_path / "share" / "vigil"
    assert made.stderr.splitlines()[0] == (
        f"vigil: data in {data}, database sqlite:///{data / 'vigil.sqlite'}"
    )
    assert "collector" in listed.stdout
    assert not (there / "data").exists()
    assert not (here / "data").exists()


def test_each_command_names_its_data_directory_and_hides_the_database_password(tmp_path):
    done = vigil(
        "db",
        "current",
        data_dir=tmp_path,
        database_url="postgresql://vigil:s3cret@127.0.0.1:1/vigil",
    )

    first = done.stderr.splitlines()[0]
    assert first == f"vigil: data in {tmp_path}, database postgresql://vigil:***@127.0.0.1:1/vigil"
    assert "s3cret" not in done.stderr + done.stdout


def _changed_by_hand(tmp_path, sql: str) -> None:
    import sqlite3

    assert vigil("db", "upgrade", data_dir=tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / "vigil.sqlite") as connection:
        connection.execute(sql)
    for path in tmp_path.iterdir():  # as private as Vigil keeps them, whatever this umask is
        path.chmod(0o600)


@pytest.mark.parametrize(
    ("sql", "said"),
    [
        (
            "UPDATE alembic_version SET version_num = 'ffff0000'",
            "is at schema revision 'ffff0000', which this Vigil does not know",
        ),
        ("DROP TABLE series", "lacks the table series: it was changed outside Vigil"),
    ],
)
@pytest.mark.parametrize("command", [("db", "current"), ("run", "--port")])
def test_a_database_changed_by_hand_is_one_clear_line_at_start(tmp_path, sql, said, command):
    from tests.alerts.smtp_server import free_port

    if command[-1] == "--port":
        command = (*command, str(free_port()))
    _changed_by_hand(tmp_path, sql)
    done = vigil(*command, data_dir=tmp_path)

    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert said in done.stderr.splitlines()[-1]
    assert len(done.stderr.splitlines()) <= 2  # where the data is, and why it cannot start


def test_the_tables_checked_at_start_are_those_the_migrations_make(database):
    from sqlalchemy import inspect

    from vigil.storage.migrations import TABLES

    assert set(TABLES) <= set(inspect(database.engine).get_table_names())
