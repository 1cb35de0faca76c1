from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "rate_limit_window" (
    "bucket" VARCHAR(128) NOT NULL PRIMARY KEY,
    "hits" INT NOT NULL,
    "expires_at" BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_rate_limit__expires_2c2b9b" ON "rate_limit_window" ("expires_at");
COMMENT ON TABLE "rate_limit_window" IS 'Calls counted in one fixed window of one user or workspace.';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "rate_limit_window";"""


MODELS_STATE = (
    "eJztXetzm7gW/1cYvtzuTDaTOGmS693ZGSdxu94mdid22t6tO0TGss0GSy6IPKab//1KmD"
    "cCAzYOpvoSE+kcAb+jx3lJ/JDneAx1c79ljTVyhadyU/ohIzCH9CJWtyfJYLHwa1gBASPd"
    "JgaMStEdspFJDKASWjEBuglp0RiaqqEtiIYRLUWWrrNCrFJCDU39Igtp3y2oEDyFZAYNWv"
    "H1Gy3W0Bg+QZP9+1V+xMa9uQAqZPdSDQgIHCuAyN8Y5eJemWhQH4deRRszUrtcIc8Lu+z2"
    "tnP5zqZkTzJSVKxbc+RTL57JDCOP3LK08T7jYXVTiKDBbht4Q/YCDhpu0fJlaAExLOi9xd"
    "gvGMMJsHSGk/z7xEIqg0ey78T+HP/hPFqATFG6vYHSbw8URc4Bq4oRE4mGCMPwx8uyXR8Q"
    "u1RmN7j4s3Xz5ujkFxsCbJKpYVfacMkvNiMgYMlqy8NHGT5ARBQe1hczYPCxDvJEEKcPnA"
    "FrB0kPapfEx9rvgi6KLk4lICvPwZOiQzQlM/pv4+3bFKg/tW5stCmVDTemY2Y5mrpOVWNZ"
    "x2D3YQZ2N8kDss9RCOJYd64UxifHGSA+OU5EmFWFAR7BCTZgHOC/+r0uH2CfIwLwWFOJ9K"
    "+kaybZvb6cgiuDgrU8N83vehDPN9etL1GoL65659HphDVwHu3YEwKNPLB7DAL14qgHFtAY"
    "9Je0hmhzyIc/zBmVgcO6717s4kRDX3DcQ/qz00tSRDPoXLf7g9b1x5B8LluDNqtp2KXPkd"
    "I3JxGZeY1InzuDPyX2r/R3r9uOitGjG/wts2cCFsEKwo8KGAeUC7fURS26iGCDu1Yn60VB"
    "njW0o90Zbyt1IR9PTyfNiWmUT+D68sLU+Mk9V8UMqf5hjN/RFVibog/w2Ua6Qx8GIJW3KD"
    "uGzedgWzuJrV/qP6IBHj0DKNa7KAj01SFZ6out/kXrsi3H54UNgHtrwh3U3rPiGpwJQ5jS"
    "B5C6t1dXst2JR0C9fwTGWAn1ZlaDGzhS4tHGq+aNebQEIDC14WHvwZ7agb2DHjQCnNeOmf"
    "KB2r00Y14L023RmqfdilimTIm+ynAOND1YKMz71zXvXXlktu1dhhpanUeNgwxmJ6VKtDvt"
    "urASYWCds7AxgNvImsdm3hDYLm+VsZZ7n7vtm6Zk/wxR6/K6021K9s8QXbevz1nl8lcuIJ"
    "PDLCI5TJbIYUwgBN9DpMyAOcvT78NcmxHI6ilmhx0uzgRfsOf73Nvr+/LHdvey032fcwZ3"
    "2ZqSc0EHwcVF++OgfUnHgXM1RDftT70PrMi5GKL2l4+dG1biXFRjeAjXQTL09XUdwKeFRl"
    "srIPUwZw2lviNSdjFJFTNtaoEpjEWGd5R3A6KupqVYC0nb5h6V1eg5p/Mqxii8V5XzCu7Q"
    "FLl7bsGKgluCX9Af6sI5uALc2KxYNQ8h1lQo892DdtXeCt+gR7RVxyBtFiqO3SB8ga/sC3"
    "TEkS/XJ8RUO7dIKbk+bre3TILnkB+wXQl4hLssL0ndoLdG3qMpxfp7YgslZbrVTALImo94"
    "CUHJiPsc9csl3K7bNWlC2b6rdYshnUwRnZSATsw/ahkGRCpHZU6GOMhTR5CzYJwMcSwXdo"
    "4tRJSxxbH8zrVpB5GEVKYQXwRnptqXhPNBWSBP2RP8+t9G4+jotHFwdHL29vj09O3ZwRml"
    "tR83XnWaIorzzvtOdxAWAyvgor8AvHUxA/wuo8B/LfwNFmhH7PGKCCHELSRRTBIEE8DJjU"
    "iD32MRmBfDfEZNVjhWHIeEYhkcAQzgUwL8fO46qI1poYn2l0EoKhFLIPciE1e97nuXPJpV"
    "HpmFCIHzBaHYWogTKUqef6J8tRkIjcPj0+Ozo5Njr/97JWndPt7FR5qu0/vRORqY+bb8xD"
    "nr0LXLtogW0NDwmNrqwMgd84zyiphnlWOejrQg4miumeTscAopV1nKJjQe2Oq+zrhOakNI"
    "fockX2Cc81sQUq+01MNRwrwSj3GLFLVqixuBhTnDhJuhlmZ7RxhrY3hs2QIX+b/JAqlv/q"
    "+1GBeUephTSL0qUudMts7TVyqVcXcUp93LZKwmthtKZHydTLtryJIRzJm2kDnJdoHavbR8"
    "u3mYbqMpd5EcO4ulZX6L5OGJRLtXTbQTW0IrtiX0H6yhQspPiFHoPlXRfTJpvGZC6mXyfB"
    "dgEZs3xK6Yn0qXrCi4JeyKsUxefmpZ+2F2FdfAXFgl/fyGIn2lzTXymeJnz/wxJT1Kkqqp"
    "M8kpOqNWHn3yVQq7fAF03ZTsJAg4ljQkYQSliUblKS2bkfDELmMwStiQvG66H9WI1mlriI"
    "bo7m5kqfeQ3N1Jmind3ZkqXsCmaY3+gSppLltYBsAoxRu4P92nRKyp5u/a+I/m4enJaaPx"
    "9uTg4O7ulz3JxPatAMFzTR0ia0EJya8aUg04h4gsH9OUgKTSp/5NMvCjKT3OsAndZ50BU4"
    "JsF7EEDCgt+81YGj3Tm/o7ye/ubBhWbyhKNGSW78xXshOSKzyO2u1iOWycZdGYG2fJKjOr"
    "SzdqZhrhpJ0neutd8tq46TeWH5R2FENa/CP1IIaN4brVXry1AEhM4Xqd1asPAelZZISfeA"
    "tXoDZ1zTIpnYJ9wpWrVUvyHVKSOgNoCqW+HTf9jymx1qTvFkBEI8/S3DKJNMG6jh9/kx4N"
    "jRCI2JpE52fJpI9L+wdA5vJs6vhSVuaN1lgs8ma6Z01wd8ZKdVeJLQYYU7xhufMg18x/rJ"
    "rKXfqOJRHR/Qn9Wwg+sVSIZTp2ftFz2Lcj/21OgDsi7kx5M46s8ujgQRahh0f18IWBVWia"
    "hSbOKO9WMgzFyCk2cnRgEgUaBu+M7OS9RmGuOmzE2PYeIxEyECGDKrq2q5x/0g8cPyLzfA"
    "TB+r1UL0GUssyDn0TCiTjZKRPaWzOzxclOdYNenHtTqhdpoQOk3MNc594EeeqgIZe9VZne"
    "BxoPvEMnkjEO8tQP4yyBy+Sw5VlslmChETfGkMNTEuMT7pLYviFmOOgKxSlte+Y5xjoEKM"
    "HdnNBEBOwRbaMstL2S7ep2573eVci+Pu9EDehbli775tDu65RII3CFHHI7+4OMYktslT1W"
    "S1EVC+mEWYWcqyxnWPBTDUE+IeEqS3h5MiRZ6zCLpDaE5HdI8gUOs+C3IKReZanTNwV6EW"
    "GHGIWMqyxjnaJuEu8UwkLO17Q26mfll+qMFefG/BSjTpwb87rnxpjqDI4tveB8x+cWM12m"
    "mW5B1QJ2LmhR72Yif6GxUDX8N50WFgQLTiZQJdoDLJIjltaQ0PAqvdYwkZnPSGXGNil8lg"
    "OnmS1+7bj/v+6F89HhHEc7LLma0vJ3iOIfP37X6lwxiuWvXGCSLCPoY8OcO8mPw1qHNWnb"
    "mX4ejIW8mXFuMTtWeXYU+02S57n67jcRJwjWTeqcwV7FEwSrJm2Rw12DHO5AThaBc05e4b"
    "nD9u7DDdSBm0TNBzyYlN2hzdUI95dtJbvbuK1IeHexzZb0rmguuch8F5nvIvN9PRekoSXo"
    "ACnZwQGeGqZgl4izjvG9tcidjc3hrYM3YwuwF3Cqi2zhNC967Y/APW/1201pBEw4RP12a9"
    "C0z7cZotvuh27vc7cpWeie2lSoAv5RkYO2IT2l4sa7yEETUpdjRlAuM4TDKjw36Z6b6D7r"
    "NZ030Q3euwnxSv8Np6NVaRu+fbgvxxvhHvqb7IFwTxcWTocaOx2Wh+vmcjn4LMLhkMUiYx"
    "+4z7VP1mOon8l71MjyRQxKlbLdO/ZNDPs3B74uff3gbRxkgZdSJfffgxi8IkiejP5uhktF"
    "kPxnlHpSkDxmEWSJNQJrrBFFx9P14o0t1szVspXdmngTw4zhbDJk74zRiI3DmsHZjtdQTe"
    "Hyj9xeE6nw1+12bHp5lQD2ZziaYXzffoD2/WLmYqh+L81sfFxSKtAjLdN+/Cpj2xxxLO/I"
    "XqhvuczLlJNrRHx1hbmTbGLacOXA2qWvcsykIN4b/LqJj2+o/2cFOcRUQztI7NKsmlu64p"
    "pw3AAyoAq1h0IWUIS1hoLeURMoi+G7c4epixFecIRji6g4yXW4OrkjwL7FvXA37Yt251P+"
    "3XAuX1Nyr4bo403vot3vs0Lvcog677u9G1bmXLBMkKtO9wMrcq82sXdu8x9Hzr1pTmyVW2"
    "OrnPiMxwYyzXI430o1/72NFjzbP7gLI8XwD5GJoHFtg8ZbjbdVTvONrGHZFrG0VUwE3ITd"
    "wcSz/MBwAamHOcUHnCpscrheoFf/7EJUxPX0Sge9OewZ1GIDLMYs7PqqDTIRxC4tKvs68e"
    "uqaR5ZoWKHYK6PE2ulpt1JBPkzQxX5PHpxqMLfY68lVIEs/A2egVAnuMr0H7Ug1Y9mMsd5"
    "5NTspXmOgE9TGbdRog+Tq3RzvJfO3FzdVJCN7JNN9hI90LmZu5Eo2b4JsNTQV1SKXcMGVQ"
    "6EHfIaoluOJw4j4mSxhRH+q9/rJrjgfJaolUgtSOlfSdfM0iIdr2MgMjDSo0vRQNJe2Ohj"
    "DZy/djDk5f8oqHBA"
)
