"""`report.schedule` in the config: a good one loads with its SMTP password read; each bad one is one error naming
the file, the line and the key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from netmon.config import load_config
from netmon.errors import ConfigError

BASE = """\
credentials:
  v2c: {snmp_v2c: {community: {env: TEST_SCHEDULE_COMMUNITY}}}
defaults: {credential: v2c}
kabupaten:
  Badung: {timezone: WITA}
sites:
  - {id: kim-ketenger, name: KIM Ketenger, desa: Ketenger, kecamatan: Baturraden, kabupaten: Banyumas}
  - {id: kim-kedonganan, name: KIM Kedonganan, desa: Kedonganan, kecamatan: Kuta, kabupaten: Badung}
devices:
  - {id: ketenger-router, site: kim-ketenger, role: router, address: 192.0.2.1}
"""
TICKET_MAIL = """\
alerts:
  tickets:
    mail: {host: smtp.banyumaskab.go.id, sender: netmon@banyumaskab.go.id, recipient: helpdesk@banyumaskab.go.id}
"""


def load(tmp_path: Path, report: str, extra: str = "") -> object:
    path = tmp_path / "netmon.yaml"
    path.write_text(BASE + extra + "report:\n" + textwrap.indent(textwrap.dedent(report), "  "))
    return load_config(path)


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_SCHEDULE_COMMUNITY", "public")
    monkeypatch.setenv("TEST_SCHEDULE_SMTP", "smtp-secret")


def test_a_schedule_with_its_own_server_reads_its_password(tmp_path: Path) -> None:
    config = load(tmp_path, """\
        schedule:
          day: 3
          time: "08:30"
          formats: [pdf, xlsx, csv]
          recipients: [kabid@banyumaskab.go.id]
          kabupaten_recipients: {Badung: [kominfo@badungkab.go.id]}
          mail: {host: 127.0.0.1, port: 2525, sender: netmon@banyumaskab.go.id, user: netmon,
                 password: {env: TEST_SCHEDULE_SMTP}}
        """)
    schedule = config.report.schedule  # type: ignore[attr-defined]
    assert (schedule.day, schedule.time, schedule.scope, schedule.formats) == (3, "08:30", "kabupaten",
                                                                                ["pdf", "xlsx", "csv"])
    assert config.report_secrets["schedule.mail.password"].reveal() == "smtp-secret"  # type: ignore[attr-defined]


def test_a_schedule_may_share_the_ticket_mails_server(tmp_path: Path) -> None:
    config = load(tmp_path, "schedule: {recipients: [kabid@banyumaskab.go.id]}\n", TICKET_MAIL)
    assert config.report.schedule.mail is None and config.report_secrets == {}  # type: ignore[attr-defined]


@pytest.mark.parametrize(("report", "extra", "line", "key", "message"), [
    ("schedule: {recipients: [kabid@banyumaskab.go.id]}\n", "", 12, "report.schedule.mail",
     "no mail server: give report.schedule.mail, or alerts.tickets.mail"),
    ("schedule: {kabupaten_recipients: {Cilacap: [a@b.go.id]}}\n", TICKET_MAIL, 15,
     "report.schedule.kabupaten_recipients.Cilacap", "no site is in kabupaten 'Cilacap' (kabupaten: Badung, "
     "Banyumas)"),
    ("schedule: {recipients: []}\n", TICKET_MAIL, 15, "report.schedule",
     "give `recipients` (or `kabupaten_recipients`)"),
    ("schedule: {recipients: ['Kabid <kabid@x.go.id>']}\n", TICKET_MAIL, 15, "report.schedule",
     "is not one plain mail address"),
    ("schedule: {recipients: [a@b.go.id], time: '7:00'}\n", TICKET_MAIL, 15, "report.schedule.time",
     "should match pattern"),
    ("schedule: {recipients: [a@b.go.id], day: 31}\n", TICKET_MAIL, 15, "report.schedule.day",
     "less than or equal to 28"),
    ("schedule: {recipients: [a@b.go.id], formats: [docx]}\n", TICKET_MAIL, 15, "report.schedule.formats[0]",
     "'pdf', 'xlsx' or 'csv'"),
    ("schedule: {scope: all, kabupaten_recipients: {Badung: [a@b.go.id]}}\n", TICKET_MAIL, 15, "report.schedule",
     "needs scope: kabupaten"),
], ids=["no-server", "unknown-kabupaten", "nobody", "display-name", "time", "day-31", "format", "all-by-kabupaten"])
def test_a_bad_schedule_is_one_error_naming_file_line_and_key(tmp_path: Path, report: str, extra: str, line: int,
                                                              key: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, report, extra)
    error = info.value
    assert (error.line, error.key) == (line, key), str(error)
    assert message in error.message and "\n" not in str(error)
