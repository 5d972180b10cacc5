"""The exchange API for partner platforms (issue 14, part 6): API keys per partner and region,
records changed since a time, and project transfers pushed to and received from another
deployment. ``keys`` issues and checks keys, ``changes`` answers the pulls, ``transfers``
receives and pushes projects, ``views`` is the API door and ``commands`` the operators'."""
