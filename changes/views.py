"""The change feed (docs/contract.md#change-feed) and counts (docs/contract.md#counts)."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics_api.kernel.openapi import api_operation
from analytics_api.replicas import ReplicaReads
from analytics_api.tenancy.access import HasScope, request_account
from analytics_api.tenancy.auth import ClientPrincipal
from changes import openapi
from changes.counts import counts_compute
from changes.datasets import DATASETS
from changes.feed import feed_page
from changes.serializers import CountsQuery, FeedQuery


class DatasetScope(HasScope):
    """The scope of the requested dataset's documented endpoint. With no valid dataset, only the
    token is checked here: the 400 naming the dataset follows once the caller is known."""

    def has_permission(self, request: Request, view: Any) -> bool:
        try:
            source = request.query_params if request.method == "GET" else request.data
        except (exceptions.ParseError, exceptions.UnsupportedMediaType):
            source = {}  # answered by the view once the caller is known
        name = source.get("dataset") if hasattr(source, "get") else None
        dataset = DATASETS.get(name) if isinstance(name, str) else None
        view.required_scope = dataset.read_scope if dataset else None
        if dataset is None and not isinstance(request.user, ClientPrincipal):
            raise exceptions.NotAuthenticated(
                "Authentication token is missing: send a JWT in the auth header or as Authorization: Bearer <token>."
            )
        return super().has_permission(request, view)


class ChangesView(APIView):
    permission_classes = [DatasetScope]
    required_scope: str | None = None

    @api_operation(**openapi.CHANGES)
    def get(self, request: Request) -> Response:
        query = FeedQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        page = feed_page(
            account=request_account(request),
            dataset=DATASETS[data["dataset"]],
            after=data.get("cursor"),
            limit=data["limit"],
        )
        return Response(page.as_dict())


class CountsView(ReplicaReads, APIView):
    permission_classes = [DatasetScope]
    required_scope: str | None = None

    @api_operation(**openapi.COUNTS)
    def post(self, request: Request) -> Response:
        body = CountsQuery(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        return Response(
            counts_compute(
                account=request_account(request),
                dataset=DATASETS[data["dataset"]],
                start=data["startDate"],
                end=data["endDate"],
                granularity=data["granularity"],
                filters=data["filters"],
            )
        )
