# experiments/lib.sh - sourced by the experiment scripts (`. experiments/lib.sh`).
#
#   job CMD [ARGS...]   runs CMD in the background, at most $JOBS at a time:
#                       when $JOBS are running it waits for all of them
#   jobs_wait           waits for the jobs still running
#
# Whole batches keep it simple in POSIX sh: there is no portable "wait for
# any one job". The scripts' runs of one batch take about the same time.
_jobs_n=0; _jobs_pids=""
job() {
    "$@" & _jobs_pids="$_jobs_pids $!"
    _jobs_n=$((_jobs_n + 1))
    if [ $_jobs_n -ge "${JOBS:-1}" ]; then jobs_wait; fi
}
jobs_wait() {
    for _p in $_jobs_pids; do wait $_p; done
    _jobs_n=0; _jobs_pids=""
}
