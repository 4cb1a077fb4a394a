"""What every HTTP route of the project shares: value types (``types``) and errors
(``errors``: Chinese messages by default, content errors as 4xx). Features' routers
import from here; ``waterbudget.api`` and the stand-alone apps call ``errors.install``."""
