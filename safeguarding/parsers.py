"""The API's JSON parser: DRF's, with a limit on nesting.

Python's json module parses nested arrays and objects recursively: a body of
100,000 "[" ran out of stack (RecursionError) and answered 500. No request this
API takes nests more than a few levels, so anything deeper than
chronology.validators.JSON_MAX_DEPTH is refused as a 400 before a view sees it."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from chronology.validators import JSON_MAX_DEPTH, json_depth_exceeds

TOO_DEEP = f"JSON parse error - the body nests more than {JSON_MAX_DEPTH} levels deep."


class DepthLimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        if json_depth_exceeds(data):
            raise ParseError(TOO_DEEP)
        return data
