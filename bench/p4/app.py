"""The seed's "before" stack for P4: 202 + job id, a status endpoint that clients poll, and a
job table in Redis (RQ). Started by bench/run with uvicorn; talks to Redis on 127.0.0.1 only.

    POST /reports {"quarter": "Q1", "duration_ms": 500} -> 202 {"job_id": "..."}
    GET  /reports/{job_id}                             -> {"status": "...", "result": {...}|null}
"""

import os

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel
from redis import Redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job

REDIS_URL = os.environ.get("P4_REDIS_URL", "redis://127.0.0.1:6379/15")
QUEUE = os.environ.get("P4_QUEUE", "p4-reports")

redis = Redis.from_url(REDIS_URL)
queue = Queue(QUEUE, connection=redis)
app = FastAPI()


class ReportRequest(BaseModel):
    quarter: str
    duration_ms: int


@app.get("/health")
def health():
    return {"ok": True}


@app.post("/reports", status_code=202)
def create_report(req: ReportRequest):
    job = queue.enqueue("jobs.generate_report", req.quarter, req.duration_ms, result_ttl=600)
    return {"job_id": job.id}


@app.get("/reports/{job_id}")
def get_report(job_id: str):
    try:
        job = Job.fetch(job_id, connection=redis)
    except NoSuchJobError:
        raise HTTPException(status_code=404, detail="no such job")
    status = job.get_status()
    status = getattr(status, "value", status)
    return {"status": status, "result": job.return_value() if status == "finished" else None}
