from fastapi import APIRouter

router = APIRouter()
admin_router = APIRouter()
