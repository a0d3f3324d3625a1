#!/usr/bin/env bash
# Benchmark of the Ansible role: wall time of a first converge and of a
# second (no-op) converge of playbooks/localhost.yml on this machine
# (connection local), for the current user with HOME pointing at a
# throwaway folder (the dotfiles-bootstrap path).
#
#   benchmarks/bench_role.sh [RUNS]      # RUNS fresh homes, default 3
#   AR_BENCH_CALLBACKS=ansible.posix.profile_tasks  -> time of every task
#   AR_BENCH_KEEP=1                                 -> keep the work folder
#   ANSIBLE_PIPELINING=1                            -> passed to ansible-playbook
#
# Nothing leaves the machine but PyPI (psutil/setuptools for the agent's
# venv; a local wheel folder is used instead when the role tests made one):
# TPM, tmux-resurrect and tmux-continuum come from local stand-in repositories.
# Needs the dev venv (ansible-playbook). Writes results/role.csv and role.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${AR_DEV_VENV:-$root/.venv}
out=${AR_BENCH_OUT:-$root/benchmarks/results}
runs=${1:-3}
packages=${AR_BENCH_ROLE_PACKAGES:-true}
wheels=/var/tmp/assistant-resurrect-role-wheels
work=$(mktemp -d /tmp/ar-bench-role-XXXXXX)
chmod 755 "$work"
cleanup() {
  if [ -n "${AR_BENCH_KEEP:-}" ]; then
    echo "kept $work" >&2
    return
  fi
  # tmux servers the role may have started under the throwaway homes
  for sock in "$work"/tmux/tmux-*/*; do
    [ -S "$sock" ] && tmux -S "$sock" kill-server 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$out" "$work/tmux"

# Stand-in plugin repositories, tagged v-bench.
for spec in tpm:tpm tmux-resurrect:resurrect.tmux tmux-continuum:continuum.tmux; do
  name=${spec%%:*} entry=${spec#*:}
  src=$work/plugin-src/$name
  mkdir -p "$src"
  printf '#!/usr/bin/env bash\nexit 0\n' >"$src/$entry"
  chmod 755 "$src/$entry"
  git -C "$src" init -q -b main
  git -C "$src" -c user.name=b -c user.email=b@example.invalid add -A
  git -C "$src" -c user.name=b -c user.email=b@example.invalid commit -qm "stand-in $name"
  git -C "$src" tag v-bench
  git clone -q --bare "$src" "$work/repos/$name.git"
done
# The runtime source the role pip-installs (without build leftovers).
mkdir -p "$work/runtime-src"
(cd "$root/runtime" && tar --exclude=build --exclude='*.egg-info' --exclude=__pycache__ -cf - .) |
  tar -xf - -C "$work/runtime-src"

pip_extra=""
[ -e "$wheels/.complete" ] && pip_extra="--no-index --find-links $wheels"

csv=$out/role.csv
echo "run,first_converge_s,first_changed,second_converge_s,second_changed,first_cpu_s,second_cpu_s" >"$csv"
# Wall, user and system seconds of a converge (ansible-playbook and its children).
TIMEFORMAT='%R %U %S'
for i in $(seq 1 "$runs"); do
  home=$work/home-$i
  mkdir -p "$home" "$work/ansible-$i/local" "$work/ansible-$i/remote"
  cat >"$work/vars-$i.json" <<EOF
{
  "assistant_resurrect_python": "/usr/bin/python3",
  "assistant_resurrect_manage_packages": $packages,
  "assistant_resurrect_source": "$work/runtime-src",
  "assistant_resurrect_pip_extra_args": "$pip_extra",
  "assistant_resurrect_state_dirs": ["$work/state-$i"],
  "assistant_resurrect_tpm_repo": "file://$work/repos/tpm.git",
  "assistant_resurrect_tpm_version": "v-bench",
  "assistant_resurrect_resurrect_repo": "file://$work/repos/tmux-resurrect.git",
  "assistant_resurrect_resurrect_version": "v-bench",
  "assistant_resurrect_continuum_repo": "file://$work/repos/tmux-continuum.git",
  "assistant_resurrect_continuum_version": "v-bench"
}
EOF
  converge() {
    env -i PATH="$venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
      HOME="$home" LANG=C.UTF-8 USER="$(id -un)" \
      ANSIBLE_HOME="$work/ansible-$i/home" ANSIBLE_LOCAL_TEMP="$work/ansible-$i/local" \
      ANSIBLE_REMOTE_TMP="$work/ansible-$i/remote" ANSIBLE_CONFIG="$work/none.cfg" \
      ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 TMUX_TMPDIR="$work/tmux" \
      PIP_DISABLE_PIP_VERSION_CHECK=1 ${AR_BENCH_CALLBACKS:+ANSIBLE_CALLBACKS_ENABLED=$AR_BENCH_CALLBACKS} \
      ${ANSIBLE_PIPELINING:+ANSIBLE_PIPELINING=$ANSIBLE_PIPELINING} \
      "$venv/bin/ansible-playbook" -i localhost, -c local "$root/playbooks/localhost.yml" \
      -e "@$work/vars-$i.json"
  }
  recap_changed() { sed -n 's/.*ok=[0-9]* *changed=\([0-9]*\).*failed=\([0-9]*\).*/\1 \2/p' "$1" | tail -1; }
  { time converge >"$work/converge1-$i.log" 2>&1; } 2>"$work/time1-$i" ||
    { tail -40 "$work/converge1-$i.log"; exit 1; }
  { time converge >"$work/converge2-$i.log" 2>&1; } 2>"$work/time2-$i" ||
    { tail -40 "$work/converge2-$i.log"; exit 1; }
  read -r c1 f1 <<<"$(recap_changed "$work/converge1-$i.log")"
  read -r c2 f2 <<<"$(recap_changed "$work/converge2-$i.log")"
  read -r first u1 s1 <"$work/time1-$i"
  read -r second u2 s2 <"$work/time2-$i"
  cpu1=$(echo "$u1 + $s1" | bc)
  cpu2=$(echo "$u2 + $s2" | bc)
  printf '[bench] role run %s: first converge %.1f s (changed=%s), second %.1f s (changed=%s, CPU %.1f s)\n' \
    "$i" "$first" "$c1" "$second" "$c2" "$cpu2" >&2
  if [ "$c2" != 0 ] || [ "$f1" != 0 ] || [ "$f2" != 0 ]; then
    echo "second converge is not a no-op (changed=$c2) or a run failed" >&2
    grep -B3 '^changed:' "$work/converge2-$i.log" | head -40 >&2
    exit 1
  fi
  echo "$i,$first,$c1,$second,$c2,$cpu1,$cpu2" >>"$csv"
done

python3 - "$csv" "$out/role.md" "$packages" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
f = [float(r["first_converge_s"]) for r in rows]
s = [float(r["second_converge_s"]) for r in rows]
fc = [float(r["first_cpu_s"]) for r in rows]
sc = [float(r["second_cpu_s"]) for r in rows]
def fig(v):
    return f"{statistics.median(v):.1f} ({min(v):.1f}-{max(v):.1f})"
md = (
    f"Role, {len(rows)} fresh homes, `ansible-playbook -c local playbooks/localhost.yml` "
    f"(OS packages managed: {sys.argv[3]}).\n\n"
    "| converge | median s (min-max) | CPU s (user+sys) | changed |\n|---|---|---|---|\n"
    f"| first | {fig(f)} | {fig(fc)} | {rows[0]['first_changed']} |\n"
    f"| second (no-op) | {fig(s)} | {fig(sc)} | {rows[0]['second_changed']} |\n"
)
open(sys.argv[2], "w").write(md)
sys.stdout.write(md)
EOF
