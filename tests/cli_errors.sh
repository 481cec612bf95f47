#!/usr/bin/env bash
# tests/cli_errors.sh — bad input is exit 2 with one line on stderr.
# Usage: cli_errors.sh ACCUMBENCH
# Each bad invocation must exit exactly 2, print nothing on stdout, and print
# exactly one line on stderr that starts with "accumbench: " and names the
# offending flag (an ERE: alternatives where either flag of a conflicting pair
# may be named). A few good invocations must exit 0 quickly, and a few that
# sit just inside a limit must not be refused (exit 0 or 1 from verify, never 2).
# Every case runs under a timeout, so a bad invocation that is accepted fails
# instead of starting a long benchmark. One line per case; exit 1 if any fails.
set -u
bin=${1:?usage: cli_errors.sh ACCUMBENCH}
export OPENBLAS_NUM_THREADS=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0

say() { # STATUS CMD... : one result line, arguments shell-quoted
  local st=$1; shift
  printf '%-4s accumbench %s\n' "$st" "${*@Q}"
}

# bad PATTERN CMD... : expect exit 2, empty stdout, one "accumbench: " line
# on stderr matching PATTERN
bad() {
  local pat=$1; shift
  n=$((n + 1))
  timeout 20 "$bin" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
  local rc=$? why=""
  local lines
  lines=$(wc -l <"$tmp/err")
  # a last line without "\n" still counts as a line
  [ -s "$tmp/err" ] && [ "$(tail -c1 "$tmp/err" | od -An -c | tr -d ' ')" != '\n' ] && lines=$((lines + 1))
  if [ "$rc" -ne 2 ]; then why="exit $rc, want 2"
  elif [ -s "$tmp/out" ]; then why="stdout not empty: $(head -c 120 "$tmp/out" | head -n1)"
  elif [ "$lines" -ne 1 ]; then why="$lines lines on stderr, want 1"
  elif ! head -n1 "$tmp/err" | grep -q '^accumbench: '; then why="stderr does not start with 'accumbench: '"
  elif ! grep -qE -e "$pat" "$tmp/err"; then why="stderr does not name $pat"
  fi
  if [ -z "$why" ]; then
    say ok "$@"
    echo "       -> $(head -n1 "$tmp/err" | cut -c1-200)"
  else
    failed=$((failed + 1))
    say FAIL "$@"
    echo "       $why; stderr: $(head -n3 "$tmp/err" | tr '\n' '|' | cut -c1-300)"
  fi
}

# good CMD... : expect exit 0 and something on stdout
good() {
  n=$((n + 1))
  timeout 20 "$bin" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ "$rc" -eq 0 ] && [ -s "$tmp/out" ]; then
    say ok "$@"
  else
    failed=$((failed + 1))
    say FAIL "$@"
    echo "       exit $rc (want 0), stdout $(wc -c <"$tmp/out") bytes; stderr: $(head -n3 "$tmp/err" | tr '\n' '|' | cut -c1-300)"
  fi
}

# accepted CMD... : just inside a limit: must not be refused as bad input
accepted() {
  n=$((n + 1))
  timeout 60 "$bin" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ "$rc" -eq 0 ] || [ "$rc" -eq 1 ]; then
    say ok "$@"
  else
    failed=$((failed + 1))
    say FAIL "$@"
    echo "       exit $rc (want 0 or 1); stderr: $(head -n3 "$tmp/err" | tr '\n' '|' | cut -c1-300)"
  fi
}

# --- commands and flags --------------------------------------------------------
bad 'frobnicate' frobnicate
bad '--frobnicate' run --frobnicate
bad '--frobnicate' verify --frobnicate
bad 'extra-positional' run --json extra-positional

# --- integers: missing, not a number, out of range, junk, repeated --------------
for cmd in run verify; do
  bad '--micro-batch' $cmd --micro-batch
  bad '--micro-batch' $cmd --micro-batch x
  bad '--micro-batch' $cmd --micro-batch 0
  bad '--micro-batch' $cmd --micro-batch -4
  bad '--micro-batch' $cmd --micro-batch 99999999999999999999
  bad '--micro-batch' $cmd --micro-batch 4x
  bad '--micro-batch' $cmd --micro-batch 2 --micro-batch 4
  bad '--iter-size' $cmd --iter-size 0
done
bad '--iter-size|--effective-batch' run --effective-batch 10 --micro-batch 4 --iter-size 2
bad '--effective-batch|--micro-batch' run --effective-batch 2 --micro-batch 4
bad '--seed' run --seed x

# --- choices --------------------------------------------------------------------
bad '--model' run --model foo
bad '--norm' run --norm foo
bad '--strategy' run --strategy foo
bad '--loss-norm' run --loss-norm foo
bad '--backend' run --backend foo
bad '--optimizer' run --optimizer foo
bad '--math' run --math foo
bad '--conv-algo' run --conv-algo foo
bad '--model' verify --model foo
bad '--loss-norm' verify --loss-norm foo
bad '--backend' verify --backend foo

# --- sizes ----------------------------------------------------------------------
bad '--mem-limit' run --mem-limit 12Q
bad '--mem-limit' run --mem-limit -1
bad '--mem-limit' run --mem-limit ''
bad '--mem-limit' verify --mem-limit 12Q

# --- measurement ----------------------------------------------------------------
bad '--noise' run --noise 0
bad '--noise' run --noise abc
bad '--min-steps' run --min-steps 0
bad '--max-steps|--min-steps' run --max-steps 5 --min-steps 10
bad '--max-time' run --max-time 0
bad '--warmup' run --warmup -1
bad '--min-time' run --min-time -0.5
bad '--min-time' run --min-time x
bad '--min-time' verify --min-time 1

# --- --print-config: bad flags are still bad input ------------------------------
bad '--micro-batch' run --micro-batch 0 --print-config --json
bad '--iter-size|--effective-batch' run --print-config --json --effective-batch 10 --micro-batch 4 --iter-size 2
bad '--print-config' verify --print-config

# --- model shape ----------------------------------------------------------------
# out-of-range values are refused whatever the model (run: the default mlp
# with cnn flags; verify: a cnn with mlp flags)
for cmd in "run" "verify --model cnn"; do
  bad '--width' $cmd --width 0
  bad '--stages' $cmd --stages 7
  bad '--stages' $cmd --stages 0
  bad '--blocks' $cmd --blocks 0
  bad '--layers' $cmd --layers 0
  bad '--hidden' $cmd --hidden 0
  bad '--input-dim' $cmd --input-dim 0
done
for cmd in run verify; do
  # GroupNorm: min(8, 12) = 8 groups do not divide 12 channels
  bad '--width|--norm' $cmd --model cnn --norm group --width 12
  # BatchNorm with one value per channel at the 1x1 last stage
  bad '--micro-batch|--norm|--stages|--effective-batch' $cmd --model cnn --norm batch --stages 6 --micro-batch 1
  # ... also when only the ragged last micro-batch (5 = 2 + 2 + 1) has one sample
  bad '--micro-batch|--norm|--stages|--effective-batch' $cmd --model cnn --norm batch --stages 6 --micro-batch 2 --effective-batch 5
  # gpt: heads must divide d-model; sizes in range; a micro-batch of tokens that overflows int32 indices
  bad '--d-model|--heads' $cmd --model gpt --d-model 64 --heads 5
  bad '--vocab' $cmd --model gpt --vocab 1
  bad '--seq' $cmd --model gpt --seq 0
  bad '--heads' $cmd --model gpt --heads 0
  bad '--d-model' $cmd --model gpt --d-model 0
  bad '--seq|--micro-batch' $cmd --model gpt --seq 65536 --d-model 4096 --heads 32 --micro-batch 4
done

# --- good -----------------------------------------------------------------------
good --help
good run --help
good verify --help
good info
good run --print-config --json
good run --model cnn --norm group --width 8 --min-time 0 --print-config

# --- just inside the limits: not bad input --------------------------------------
small="--backend cpu --model cnn --blocks 1"
accepted verify $small --norm group --width 16 --stages 1 --micro-batch 2
accepted verify $small --width 8 --norm batch --stages 6 --micro-batch 2 --effective-batch 4
accepted verify $small --width 8 --norm batch --stages 5 --micro-batch 2 --effective-batch 5
accepted verify --backend cpu --model gpt --vocab 16 --seq 4 --d-model 8 --heads 8 --layers 1 --micro-batch 2 --effective-batch 3
accepted verify --backend cpu --model mlp --input-dim 8 --hidden 8 --layers 1 --effective-batch 10 --micro-batch 4 --iter-size 3

echo "cli_errors: $((n - failed))/$n ok"
[ "$failed" -eq 0 ]
