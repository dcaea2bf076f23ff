/* retrain_actuators.c — the names of a retrain run's states
 * (retrain_actuators.h), as status.drift and the retraining log write them. */
#include "drift/retrain_actuators.h"

const char *retrain_job_state_name(enum retrain_job_state s)
{
    switch (s) {
    case RETRAIN_JOB_RUNNING:
        return "Running";
    case RETRAIN_JOB_SUCCEEDED:
        return "Succeeded";
    case RETRAIN_JOB_FAILED:
        return "Failed";
    case RETRAIN_JOB_TIMED_OUT:
        return "TimedOut";
    case RETRAIN_JOB_STOPPED:
        return "Stopped";
    }
    return "Unknown";
}
