-- an error handler that loops too.
return {
  start = "bad",
  steps = {
    bad = {
      run = function(ctx)
        xpcall(function() while true do end end, function() while true do end end)
      end,
      next = { { done = 0 } },
    },
  },
}
