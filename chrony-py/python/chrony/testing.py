"""Test helpers: a factory per report and pytest fixtures.

Each `make_*` factory builds a report with realistic values (those of a
synchronized chronyd with a selected, reachable source) and takes any field
as a keyword to change it; the `*_DEFAULTS` dicts hold the defaults. These
work in any test framework:

    >>> from chrony.testing import make_tracking, make_source
    >>> make_tracking(stratum=16, reference_id=0).is_synchronized()
    False
    >>> make_source(reachability=0).is_reachable()
    False

Installed with pytest, the module is a pytest plugin (entry point
`pytest11`): the fixtures `tracking_status`, `source`, `source_stats`,
`rtc_data`, `activity`, `server_stats`, `smoothing`, `select_data`,
`ntp_data` and `auth_data` give each factory's default.
"""

from typing import Any

from .models import (
    Activity,
    AuthData,
    AuthMode,
    KeyType,
    LeapStatus,
    NtpData,
    NtpFlags,
    NtpMode,
    RTCData,
    SelectData,
    SelectOptions,
    SelectState,
    ServerStats,
    Smoothing,
    SmoothingFlags,
    Source,
    SourceMode,
    SourceState,
    SourceStats,
    TimestampSource,
    TrackingStatus,
)

__all__ = [
    "make_tracking",
    "make_source",
    "make_source_stats",
    "make_rtc_data",
    "make_activity",
    "make_server_stats",
    "make_smoothing",
    "make_select_data",
    "make_ntp_data",
    "make_auth_data",
    "TRACKING_DEFAULTS",
    "SOURCE_DEFAULTS",
    "SOURCESTATS_DEFAULTS",
    "RTCDATA_DEFAULTS",
    "ACTIVITY_DEFAULTS",
    "SERVERSTATS_DEFAULTS",
    "SMOOTHING_DEFAULTS",
    "SELECTDATA_DEFAULTS",
    "NTPDATA_DEFAULTS",
    "AUTHDATA_DEFAULTS",
]

# A source at 192.0.2.1 (TEST-NET-1), stratum 2, polled every 64 s.
_SERVER = "192.0.2.1"
_SERVER_ID = 0xC0000201
# 2026-01-01T00:00:00Z
_NEW_YEAR = 1_767_225_600.0

#: Synchronized to the source, stratum 3, no leap second.
TRACKING_DEFAULTS: dict[str, Any] = {
    "reference_id": _SERVER_ID,
    "reference_id_name": _SERVER,
    "reference_ip": _SERVER,
    "stratum": 3,
    "leap_status": LeapStatus.NORMAL,
    "ref_time": _NEW_YEAR + 0.25,
    "offset": -2.5e-05,
    "last_offset": 1.2e-05,
    "rms_offset": 3.4e-05,
    "frequency": -7.125,
    "residual_freq": -0.002,
    "skew": 0.031,
    "root_delay": 0.0123,
    "root_dispersion": 0.0008,
    "update_interval": 64.2,
}

#: The selected source, reachable on its last eight polls.
SOURCE_DEFAULTS: dict[str, Any] = {
    "address": _SERVER,
    "poll": 6,
    "stratum": 2,
    "state": SourceState.SELECTED,
    "mode": SourceMode.CLIENT,
    "flags": 0,
    "reachability": 0o377,
    "last_sample_ago": 23,
    "orig_latest_meas": 1.5e-05,
    "latest_meas": 1.4e-05,
    "latest_meas_err": 0.00042,
}

#: Twelve samples: enough for `has_sufficient_samples()`.
SOURCESTATS_DEFAULTS: dict[str, Any] = {
    "reference_id": _SERVER_ID,
    "address": _SERVER,
    "samples": 12,
    "runs": 7,
    "span": 704,
    "std_dev": 2.1e-05,
    "resid_freq": -0.001,
    "skew": 0.028,
    "offset": 1.4e-05,
    "offset_err": 8e-06,
}

#: A calibrated RTC, 0.35 s slow.
RTCDATA_DEFAULTS: dict[str, Any] = {
    "ref_time": _NEW_YEAR - 600.0,
    "samples": 6,
    "runs": 4,
    "span": 3600,
    "offset": -0.35,
    "freq_offset": 12.5,
}

#: Four sources, all online.
ACTIVITY_DEFAULTS: dict[str, Any] = {
    "online_sources": 4,
    "offline_sources": 0,
    "burst_online_return_sources": 0,
    "burst_offline_return_sources": 0,
    "unresolved_sources": 0,
}

#: A chrony 4.6 server (every counter sent).
SERVERSTATS_DEFAULTS: dict[str, Any] = {
    "received_ntp_requests": 1520,
    "accepted_nts_ke_connections": 0,
    "received_command_requests": 87,
    "dropped_ntp_requests": 3,
    "dropped_nts_ke_connections": 0,
    "dropped_command_requests": 0,
    "dropped_client_log_records": 0,
    "received_authenticated_ntp_requests": 0,
    "received_interleaved_ntp_requests": 12,
    "held_ntp_timestamps": 40,
    "ntp_timestamp_span": 950,
    "served_daemon_rx_timestamps": 0,
    "served_daemon_tx_timestamps": 1400,
    "served_kernel_rx_timestamps": 1517,
    "served_kernel_tx_timestamps": 117,
    "served_hardware_rx_timestamps": 0,
    "served_hardware_tx_timestamps": 0,
}

#: Smoothing in progress.
SMOOTHING_DEFAULTS: dict[str, Any] = {
    "flags": SmoothingFlags.ACTIVE,
    "offset": -0.0003,
    "frequency_ppm": 0.05,
    "wander_ppm_per_second": 0.0001,
    "last_update_ago": 12.0,
    "remaining_time": 380.0,
}

#: The best source of the selection (`*`).
SELECTDATA_DEFAULTS: dict[str, Any] = {
    "reference_id": _SERVER_ID,
    "address": _SERVER,
    "state": SelectState.BEST,
    "authentication": False,
    "leap_status": LeapStatus.NORMAL,
    "configured_options": SelectOptions(0),
    "effective_options": SelectOptions(0),
    "last_sample_ago": 23,
    "score": 1.0,
    "low_limit": -0.0004,
    "high_limit": 0.0005,
}

#: A server answering in NTPv4; every test passed.
NTPDATA_DEFAULTS: dict[str, Any] = {
    "address": _SERVER,
    "local_address": "192.0.2.100",
    "remote_port": 123,
    "leap_status": LeapStatus.NORMAL,
    "version": 4,
    "mode": NtpMode.SERVER,
    "stratum": 2,
    "poll": 6,
    "precision": -25,
    "root_delay": 0.0012,
    "root_dispersion": 0.0004,
    "reference_id": 0xC6336407,
    "reference_time": _NEW_YEAR - 10.5,
    "offset": 1.4e-05,
    "peer_delay": 0.00031,
    "peer_dispersion": 1.2e-06,
    "response_time": 2.5e-05,
    "jitter_asymmetry": 0.0,
    "flags": NtpFlags(0x3FF),
    "transmit_timestamping": TimestampSource.KERNEL,
    "receive_timestamping": TimestampSource.KERNEL,
    "transmitted_messages": 100,
    "received_messages": 100,
    "received_valid_messages": 100,
    "received_good_messages": 100,
    "kernel_transmit_timestamps": 100,
    "kernel_receive_timestamps": 100,
    "hardware_transmit_timestamps": 0,
    "hardware_receive_timestamps": 0,
}

#: A source without authentication.
AUTHDATA_DEFAULTS: dict[str, Any] = {
    "address": _SERVER,
    "mode": AuthMode.NONE,
    "key_type": KeyType.NONE,
    "key_id": 0,
    "key_length_bits": 0,
    "key_establishment_attempts": 0,
    "last_key_establishment_ago": None,
    "cookies": 0,
    "cookie_length_bytes": 0,
    "nak": False,
}


def make_tracking(**overrides: Any) -> TrackingStatus:
    """A `TrackingStatus`: synchronized by default (`TRACKING_DEFAULTS`)."""
    return TrackingStatus(**{**TRACKING_DEFAULTS, **overrides})


def make_source(**overrides: Any) -> Source:
    """A `Source`: selected and reachable by default (`SOURCE_DEFAULTS`)."""
    return Source(**{**SOURCE_DEFAULTS, **overrides})


def make_source_stats(**overrides: Any) -> SourceStats:
    """A `SourceStats` with enough samples by default (`SOURCESTATS_DEFAULTS`)."""
    return SourceStats(**{**SOURCESTATS_DEFAULTS, **overrides})


def make_rtc_data(**overrides: Any) -> RTCData:
    """An `RTCData`: calibrated by default (`RTCDATA_DEFAULTS`)."""
    return RTCData(**{**RTCDATA_DEFAULTS, **overrides})


def make_activity(**overrides: Any) -> Activity:
    """An `Activity` (`ACTIVITY_DEFAULTS`)."""
    return Activity(**{**ACTIVITY_DEFAULTS, **overrides})


def make_server_stats(**overrides: Any) -> ServerStats:
    """A `ServerStats` (`SERVERSTATS_DEFAULTS`)."""
    return ServerStats(**{**SERVERSTATS_DEFAULTS, **overrides})


def make_smoothing(**overrides: Any) -> Smoothing:
    """A `Smoothing`: active by default (`SMOOTHING_DEFAULTS`)."""
    return Smoothing(**{**SMOOTHING_DEFAULTS, **overrides})


def make_select_data(**overrides: Any) -> SelectData:
    """A `SelectData`: the best source by default (`SELECTDATA_DEFAULTS`)."""
    return SelectData(**{**SELECTDATA_DEFAULTS, **overrides})


def make_ntp_data(**overrides: Any) -> NtpData:
    """An `NtpData` (`NTPDATA_DEFAULTS`)."""
    return NtpData(**{**NTPDATA_DEFAULTS, **overrides})


def make_auth_data(**overrides: Any) -> AuthData:
    """An `AuthData` (`AUTHDATA_DEFAULTS`)."""
    return AuthData(**{**AUTHDATA_DEFAULTS, **overrides})


try:
    import pytest
except ImportError:  # the factories work without pytest
    pass
else:

    @pytest.fixture
    def tracking_status() -> TrackingStatus:
        """`make_tracking()`: synchronized."""
        return make_tracking()

    @pytest.fixture
    def source() -> Source:
        """`make_source()`: selected and reachable."""
        return make_source()

    @pytest.fixture
    def source_stats() -> SourceStats:
        """`make_source_stats()`: enough samples."""
        return make_source_stats()

    @pytest.fixture
    def rtc_data() -> RTCData:
        """`make_rtc_data()`: calibrated."""
        return make_rtc_data()

    @pytest.fixture
    def activity() -> Activity:
        """`make_activity()`."""
        return make_activity()

    @pytest.fixture
    def server_stats() -> ServerStats:
        """`make_server_stats()`."""
        return make_server_stats()

    @pytest.fixture
    def smoothing() -> Smoothing:
        """`make_smoothing()`: active."""
        return make_smoothing()

    @pytest.fixture
    def select_data() -> SelectData:
        """`make_select_data()`: the best source."""
        return make_select_data()

    @pytest.fixture
    def ntp_data() -> NtpData:
        """`make_ntp_data()`."""
        return make_ntp_data()

    @pytest.fixture
    def auth_data() -> AuthData:
        """`make_auth_data()`."""
        return make_auth_data()
