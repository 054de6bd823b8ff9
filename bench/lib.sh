# Sourced by the host benchmark scripts: what they all need.

# The two cores the sides are pinned to (BENCH_CPUS=A,B, default 0,1).
IFS=, read -r cpu_a cpu_b <<<"${BENCH_CPUS:-0,1}"

# A loopback TCP port nobody listens on now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' \
		2>/dev/null || echo $((20000 + RANDOM % 20000))
}
