from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "webhook_event" ADD "object_id" VARCHAR(255);
        CREATE INDEX "idx_webhook_eve_object__9a2ff0" ON "webhook_event" ("object_id", "stripe_created");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP INDEX IF EXISTS "idx_webhook_eve_object__9a2ff0";
        ALTER TABLE "webhook_event" DROP COLUMN "object_id";"""


MODELS_STATE = (
    "eJztXW1T2zoW/isef9nuDNuBQIHL7uxMAmlvLpAwJLTdWzoexRGJL46U2jIv08t/X8nxu2"
    "XHNnFQXH0hQdJR7OfI8nl5jv1TneMJNO33bWdikAs8VU+UnyoCc0i/pPp2FBUsFmEPayBg"
    "bLqDARulmd6wsU0soBPacQdMG9KmCbR1y1gQAyPaihzTZI1YpwMNNA2bHGT8cKBG8BSSGb"
    "Rox7fvtNlAE/gEbfbvN/URW/f2AuiQ/ZZuQUDgRANE/c5GLu61OwOak9ipGBM21G3XyPPC"
    "bbu56Z19dEeyIxlrOjadOQpHL57JDKNguOMYk/dMhvVNIYIW+9nIGbIT8NDwm5YnQxuI5c"
    "DgLCZhwwTeAcdkOKn/uXOQzuBR3F9ifw7+6x1aZJim9QcjbdgdaZpaAlYdI6YSAxGG4c+X"
    "5bwhIG6ryn7g9Pf29bv9w3+6EGCbTC2304VLfXEFAQFLUVcfIcrwASKi8bA+nQGLj3VUJo"
    "E4PeACWHtIBlD7Q0KswyXoo+jjVAOy6hw8aSZEUzKj/7Y+fMiB+nP72kWbjnLhxvSaWV5N"
    "fa+rtexjsIcwA3eZlAE5lKgEcWo5C4Xx4UEBiA8PMhFmXXGAx/AOWzAN8B/DQZ8PcCiRAH"
    "hi6ET5WzENm2zfWs7BlUHBZp7b9g8ziue7y/bXJNSnF4NOcjthE3SSC/uOQKsM7IGARL06"
    "6pEbaAr6M9pDjDnkwx+XTOrAE33vf9nGjYae4GSAzGdvleSoZtS77A5H7curmH7O2qMu62"
    "m5rc+J1neHCZ0FkyhfeqPfFfav8ueg302qMRg3+lNlxwQcgjWEHzUwiRgXfquPWvImgi3u"
    "vTrbLorKvMI62p7rbaUtFOIZ2KQlMU3KSVxfXpgZf3fPNTFjpn8c44/0DmxM0Tl8dpHu0Y"
    "MBSOfdlD3H5kt0rq3ENmwND9ECj4EDlFpdFAR66pAs7cX28LR91lXT+8IawL2x4RZa70Vx"
    "je6EMUzpASj9m4sL1V3EY6DfPwJrosVWM+vBLZxoCcamu+atebIFIDB14WHnwY7ag72HHg"
    "wCvNNOufKR3p08Z96Ij9ugN0+XFXFslQ76psI5MMxoo3Tv39a99/VR2Lf3BRrode63dgu4"
    "nXRUpt/p9sWNCAubnBsbA7iLnHlq542B7cuKjLU6+NLvXp8o7sctap9d9vonivtxiy67lx"
    "3WufxUK+hkr4hK9rI1spdSCMH3EGkzYM/KrPu41HoUsnqL2eKAi7fBV1z5ofTm1r561e2f"
    "9fqfSu7gvtiJ4n2hF8Hpafdq1D2j14H37RZddz8PzlmT9+UWdb9e9a5Zi/dFjMtDhg6yoW"
    "9u6AA+LQw6WwWtxyUbqPUt0bKPSa6a6VQLTGGscnknZdegajE9xUZo2nX3qK7GzyWDVylB"
    "Gb0SLiq4RVvk9oUFBQW3hrhgeKnL4OAKcFO7omgRQmzoUOWHB92unRWxwWDQRgODdFqoeX"
    "6DjAW+cSzQU0c5rk9MqHFhkVq4Pv6yd2yC55CfsF0JeEK6rihJ06B3xsGhadXWe+YMNTHd"
    "GqYB5MzHPEJQNuKhRPO4hJsNu2ZtKJsPtW4wpVMoo5OT0EnFRx3LgkjnmMzZEEdlmghyEY"
    "yzIU5xYefYQUSbOBzPr2NMe4hkUJlicgmcmWlfE867dYE8ZUfwr99arf39o9bu/uHxh4Oj"
    "ow/Hu8d0rHu46a6jHFV0ep96/VFcDayBi/4C8O6LBeD3BSX+r8LfYol2xA6vihJi0lIT1T"
    "RBMAEcbkQe/IGIxLwa5jPqssKJ5gUkNMfiKGAEnzLg50s3wWzMS010v45iWYkUgTzITFwM"
    "+p/84UlWeWIXIgTOF4Ri6yBOpih7/0nKNeZCaO0dHB0c7x8eBOs/aMlb9uklPjZMk/4e3a"
    "OBXa7kJy3ZhKVdt0e0gJaBJ9RXB1bpnGdSVuY8Rc55etqCiGO5FtKzJym1LLKWE1mDkppO"
    "S0vKitjqRmBhzzDhMlbybPGEYGMMkQ1b5JIPmK2Q5vIBncWkotbjklLromids9l6Ry8UtW"
    "l7DKftYzaJie2aiE1vw7y5hCw5ac+Mhcoh30R6d/L4N/P4uLVScBKcG4fRtL4neDmSePOm"
    "xBtZIiZYidhf2ECVjJ+YoLR9RLF9Clm8dgYVK3u/i4hIMrdkyf9StqSg4NbAkndsHl+tLn"
    "78tuIa2QtFss+HEJCBQ8b4SeXY55HeXPvcpuM0HA5cZaCrbSU06RV9BtAUKkM38vwPW2Gz"
    "KT8cgIhBnpW5YxPlDpsmfvy38mgZhECkGEih9rti08OlaANkL5/29z5pHtX6Q6v5/KX8hr"
    "xYbVHKkLfyxGWPbzBEm+NPlM4svzKjLNqmVTsHVMbEf0EPAcEnlkxaElzKq54jvhn9b3ID"
    "3BJ1F8o8errikOlX0Z94bPrtTTiujfm0sLAObbvSxpmU3QhHQ1451a4cE9hEg5bFe+pgNn"
    "szLtUEatumWZsy6CKDLiIGB0TO4A0jBZ0qL0YQ7d/JjRIkR9ZZSi9TdrJWvhDaG3OzZa18"
    "06CXlcS1RpEWJkDaPSxVSRyVaYKFXHfxB/0daD3wyviyMY7KNA/j4wIQH2cifJzaJVhqxM"
    "8xlIiUpORkuCTFvGaOg6lRnPIKWzoYmxCgjHBzxhQJsMd0jrrQDlo2a9t1BoOLmH/d6SUd"
    "6BtGOHq35651OsggcIUeSgf7o4KyqEjkiNVSVdVSOnFRqWeR9QwrPvw2Kic1LLKGl8/aCW"
    "54lcp+s+aQmt8izVcoA+bPILUustbpmQKzirJjglLHIuvYpKjbJHiuS6Xga94czfPyaw3G"
    "ysr7X+Kqk5X3b1t5b+szOHHMivsdX1rudIV2ugU1C9iTlqpGNzPlK10LouG/blpYFCx4dw"
    "d1YjzAKhyxvImkhSf0vYapzH5GOnO2SeVqWM40G3x/3PB//VPvNW4limOXUifK8vMWpV8n"
    "97Hdu2Ajlp9qhU2yjqSPC3Npkh9HtAn3pE0z/QIYK0Uz09JydxR5d5T1Jtn7XHPrTeQzmJ"
    "qmdc7FLuIzmETTtuRwN4DDHeFkETjn8Ao7ntjH82toAp9EzQc8Ssru0ekahPvLpsjuLm4r"
    "CO8+tsVI75rhD5fMd8l8l8z314UgLSPDBshhB0dkGkjBrhFnE+N7Z1Gajc2RbUI0YwOwVw"
    "iqS7ZwXhS98Q8R7LSH3RNlDGx4i4bd9ujEfb7NLbrpn/cHX/onioPuqU+FBIiPSg7amuwU"
    "wZ13yUGTWldTTlApN4QjKiM3+ZGbZJ31K4M3yQLv7YR4ZfyGs9BEKsN3H4/IiUb4j03Mjk"
    "D4z2eUQYcGBx2c8V9Q59hQuS/q9kVkwKGIR8ZeGVqqTjYQaJ7Lu98q8kxxOiqn3Dv1VHH3"
    "swS+/vjmwdvaLQIvHZW9fndT8MokeTb625kulUnyX1HrWUnylEdQJNcInIlBNBPzXqNdIt"
    "/YZtNcLGfZro03M80YZ5MhtzLGIC4Or0zO9oKJGgpX+MjtVyIVfz/Qlm0vb5LA/gLHM4zv"
    "uw/Q/b2Uuxjr38lzGx+XIzUYDK3Tf/ymYtcd8TzvRC3U91LuZc6Ta2R+dYW7k+1iunCVwN"
    "ofL3LOpCLee60i+RA6KvuVSq1UTiS2/ouCHBNqoB8kqzRFC0sLbgmnHSAL6tB4qOQBJUQb"
    "qOgtdYGKOL5b9zB1eYVXvMKxQ3ScFTpcTe6IiG+wFu66e9rtfS5fDefLnSj+t1t0dT047Q"
    "6HrDH4eot6n/qDa9bmfWFMkIte/5w1+d/WUTu3/tdLli6ak6VyryiVk6/xWAPTrETwrVb3"
    "Pyi04Pn+0SqMHMc/NkwmjRubNN5ovk04yzdxDyt2E8u7i8mEm/Q7mHpcxlAVrccl5QucBH"
    "Y5/CjQm792IaniZkalo9Ecdgx6tQssJSz9etEuMpnEri0r+zb5a9Esj6JQsYdgvh4nNktD"
    "l5NM8heGKvF69OpQxd/H3kioIiz8NT4DoUlw1Rk/akNqH81UTvDI69nJixyBcIwwYaPMGC"
    "bX6OZEL729WVwqyFrqZLOjRA90b+YWEmX7NxGRBsaKavFr2EVVAmFveAPRrScShxHxWGxx"
    "hP8YDvoZIbhQJOklUg9S+VsxDbu2TMfbOIgMjPzsUjKRtBN3+tgEnbdOhrz8HxKe/FQ="
)
