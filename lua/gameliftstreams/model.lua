-- gameliftstreams.model: paginators and waiters of the GameLift Streams model.
-- Written by tools/genmodel.py; do not edit by hand.
local M = {}

M.paginators = {
  ListApplications = { input_token = "NextToken", output_token = "NextToken", limit_key = "MaxResults", result_key = "Items" },
  ListStreamGroups = { input_token = "NextToken", output_token = "NextToken", limit_key = "MaxResults", result_key = "Items" },
  ListStreamSessions = { input_token = "NextToken", output_token = "NextToken", limit_key = "MaxResults", result_key = "Items" },
  ListStreamSessionsByAccount = { input_token = "NextToken", output_token = "NextToken", limit_key = "MaxResults", result_key = "Items" },
  ListStreamUrls = { input_token = "NextToken", output_token = "NextToken", limit_key = "MaxResults", result_key = "Items" },
}

M.waiters = {
  ApplicationDeleted = {
    operation = "GetApplication", delay = 2, max_attempts = 60,
    acceptors = {
      { matcher = "error", state = "success", expected = "ResourceNotFoundException" },
    },
  },
  ApplicationReady = {
    operation = "GetApplication", delay = 2, max_attempts = 60,
    acceptors = {
      { matcher = "path", state = "success", argument = "Status", expected = "READY" },
      { matcher = "path", state = "failure", argument = "Status", expected = "ERROR" },
    },
  },
  StreamGroupActive = {
    operation = "GetStreamGroup", delay = 30, max_attempts = 120,
    acceptors = {
      { matcher = "path", state = "success", argument = "Status", expected = "ACTIVE" },
      { matcher = "path", state = "failure", argument = "Status", expected = "ERROR" },
      { matcher = "path", state = "failure", argument = "Status", expected = "ACTIVE_WITH_ERRORS" },
      { matcher = "path", state = "failure", argument = "Status", expected = "DELETING" },
    },
  },
  StreamGroupDeleted = {
    operation = "GetStreamGroup", delay = 30, max_attempts = 60,
    acceptors = {
      { matcher = "error", state = "success", expected = "ResourceNotFoundException" },
    },
  },
  StreamSessionActive = {
    operation = "GetStreamSession", delay = 2, max_attempts = 60,
    acceptors = {
      { matcher = "path", state = "success", argument = "Status", expected = "ACTIVE" },
      { matcher = "path", state = "failure", argument = "Status", expected = "ERROR" },
    },
  },
}

return M
