"""The report's words and number style in Indonesian (the default) and English.

Every label a page shows comes from LABELS, so a page in one language carries none of the
other's headings (tests/test_report_site.py checks it). Rule findings come with their own two
messages from the rule pack (anomalies.message_id / message_en).
"""

from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "title": {"id": "Laporan rekonsiliasi", "en": "Reconciliation report"},
    "subtitle": {"id": "Hitung internal vs SIREKAP vs rekapitulasi resmi (D.HASIL)", "en": "Internal count vs SIREKAP vs the official recap (D.HASIL)"},
    "generated": {"id": "dibuat", "en": "generated"},
    "warehouse": {"id": "gudang data", "en": "warehouse"},
    "races": {"id": "Kontestasi", "en": "Races"},
    "source": {"id": "Sumber", "en": "Source"},
    "candidate": {"id": "Paslon", "en": "Candidate"},
    "votes": {"id": "Suara", "en": "Votes"},
    "margin": {"id": "Selisih", "en": "Margin"},
    "internal": {"id": "Hitung internal", "en": "Internal count"},
    "sirekap": {"id": "SIREKAP", "en": "SIREKAP"},
    "official": {"id": "Rekap resmi (D.HASIL)", "en": "Official recap (D.HASIL)"},
    "internal_short": {"id": "Internal", "en": "Internal"},
    "sirekap_short": {"id": "SIREKAP", "en": "SIREKAP"},
    "official_short": {"id": "Resmi", "en": "Official"},
    "no_number": {"id": "tidak ada angka", "en": "no number"},
    "of_tps": {"id": "{done} dari {total} TPS", "en": "{done} of {total} TPS"},
    "partial_headline": {"id": "Cakupan sebagian: {parts}.", "en": "Partial coverage: {parts}."},
    "complete_headline": {"id": "Setiap sumber mencakup seluruh TPS.", "en": "Every source covers all TPS."},
    "verdict_safe": {"id": "AMAN", "en": "SAFE"},
    "verdict_at_risk": {"id": "BERISIKO", "en": "AT RISK"},
    "verdict_flips": {"id": "BERBALIK", "en": "FLIPS"},
    "at_stake": {"id": "Suara dipertaruhkan", "en": "Votes at stake"},
    "leader_under": {"id": "Unggul di {sources}: {name}.", "en": "Leader under {sources}: {name}."},
    "sources_disagree": {"id": "Sumber-sumber berbeda soal siapa yang unggul.", "en": "The sources disagree on who leads."},
    "no_leader": {"id": "Belum ada sumber yang menunjukkan pemenang.", "en": "No source names a leader yet."},
    "and": {"id": "dan", "en": "and"},
    "by_kabkota": {"id": "Per kabupaten/kota", "en": "By kab/kota"},
    "kecamatan": {"id": "Kecamatan", "en": "Subdistrict (kecamatan)"},
    "kelurahan": {"id": "Kelurahan/desa", "en": "Village (kelurahan/desa)"},
    "region": {"id": "Wilayah", "en": "Region"},
    "open_region": {"id": "Rincian wilayah", "en": "Region detail"},
    "search": {"id": "Cari kode atau nama wilayah/TPS", "en": "Search a region or TPS by code or name"},
    "search_placeholder": {"id": "mis. 6472 atau SAMARINDA", "en": "e.g. 6472 or SAMARINDA"},
    "search_none": {"id": "Tidak ditemukan.", "en": "Nothing found."},
    "search_more": {"id": "Tampil {shown} dari {total} hasil; perjelas pencarian.", "en": "Showing {shown} of {total} results; narrow the search."},
    "flagged": {"id": "TPS bermasalah, per aturan", "en": "Flagged TPS, by rule"},
    "flagged_by_kabkota": {"id": "Lebih dari {n} TPS: di sini dihitung per kabupaten/kota; daftar TPS-nya ada di halaman tiap kabupaten/kota.",
                           "en": "More than {n} TPS: counted here by kab/kota; each kab/kota's page lists them."},
    "flagged_none": {"id": "Tidak ada TPS yang melanggar aturan.", "en": "No TPS breaks a rule."},
    "rule": {"id": "Aturan", "en": "Rule"},
    "severity": {"id": "Tingkat", "en": "Severity"},
    "message": {"id": "Temuan", "en": "Finding"},
    "photos": {"id": "Foto formulir", "en": "Form photos"},
    "photo": {"id": "foto", "en": "photo"},
    "tps_count": {"id": "{n} TPS", "en": "{n} TPS"},
    "withheld": {"id": "DITAHAN", "en": "WITHHELD"},
    "withheld_note": {"id": "Angka versi terakhir ditahan (semua 0); yang tampil adalah versi sebelumnya.",
                      "en": "The latest version withholds the counts (all 0); the numbers shown are the earlier version's."},
    "withheld_section": {"id": "Angka yang ditahan", "en": "Withheld counts"},
    "tps": {"id": "TPS", "en": "Polling station (TPS)"},
    "completeness": {"id": "Kelengkapan", "en": "Completeness"},
    "status": {"id": "Status", "en": "Status"},
    "rules_broken": {"id": "Aturan dilanggar", "en": "Rules broken"},
    "history": {"id": "Riwayat versi", "en": "Version history"},
    "current": {"id": "terkini", "en": "current"},
    "publisher_ts": {"id": "ts penerbit", "en": "publisher ts"},
    "vote_sum": {"id": "Jumlah suara", "en": "Vote sum"},
    "corrections": {"id": "Koreksi pada proses terakhir", "en": "Corrections in the latest run"},
    "internal_tps": {"id": "Internal", "en": "Internal"},
    "discrepancies": {"id": "Selisih antarsumber, menurut dampaknya pada selisih suara", "en": "Discrepancies, by their effect on the margin"},
    "discrepancies_none": {"id": "Tidak ada dua sumber lengkap yang berbeda.", "en": "No two complete sources disagree anywhere."},
    "sources_pair": {"id": "Sumber", "en": "Sources"},
    "deltas": {"id": "Selisih", "en": "Deltas"},
    "effect": {"id": "Dampak pada selisih", "en": "Effect on margin"},
    "level": {"id": "Tingkat wilayah", "en": "Level"},
    "quality": {"id": "Mutu data", "en": "Data quality"},
    "last_run": {"id": "Proses terakhir {run} ({status}): {read} rekaman dibaca = {loaded} dimuat + {quarantined} dikarantina.",
                 "en": "Last run {run} ({status}): {read} records read = {loaded} loaded + {quarantined} quarantined."},
    "not_loaded": {"id": "Tidak dimuat", "en": "Not loaded"},
    "tps_status_line": {"id": "{n} TPS berstatus {status}", "en": "{n} TPS {status}"},
    "back": {"id": "Kembali ke ringkasan", "en": "Back to the summary"},
    "no_tps": {"id": "Belum ada berkas TPS yang dimuat untuk wilayah ini.", "en": "No TPS file is loaded for this region yet."},
    "no_races": {"id": "Belum ada kontestasi dengan angka: muat data dengan `rekap run`.", "en": "No race has numbers yet: load data with `rekap run`."},
    "chart_label": {"id": "Suara per paslon per sumber", "en": "Votes per candidate per source"},
    "legend": {"id": "Keterangan", "en": "Legend"},
    "complete": {"id": "lengkap", "en": "complete"},
    "chart_only": {"id": "hanya chart", "en": "chart only"},
    "admin_only": {"id": "hanya administrasi", "en": "administrasi only"},
    "empty": {"id": "kosong", "en": "empty"},
    "valid": {"id": "valid", "en": "valid"},
    "incomplete": {"id": "tidak lengkap", "en": "incomplete"},
    "flagged_status": {"id": "bermasalah", "en": "flagged"},
    "error": {"id": "kesalahan", "en": "error"},
    "warning": {"id": "peringatan", "en": "warning"},
    "info": {"id": "info", "en": "info"},
}


def label(key: str, lang: str, **values) -> str:
    text = LABELS[key][lang]
    return text.format(**values) if values else text


def number(value, lang: str) -> str:
    """1.234.567 in Indonesian, 1,234,567 in English; None (no data) is a dash, never 0."""
    if value is None:
        return "—"
    text = f"{int(value):,}"
    return text.replace(",", ".") if lang == "id" else text


def signed_number(value, lang: str) -> str:
    if value is None:
        return "—"
    return ("+" if value > 0 else "−" if value < 0 else "±") + number(abs(value), lang)


def percent(value, lang: str) -> str:
    if value is None:
        return "—"
    text = f"{value:.2f}%"
    return text.replace(".", ",") if lang == "id" else text
