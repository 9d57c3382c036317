from django.urls import path

from huzhu.claims.documents import views

app_name = "documents"

urlpatterns = [
    path("claims/<id:claim_id>/application/", views.claim_application, name="application"),
    path("claims/<id:claim_id>/approval/", views.claim_approval, name="approval"),
    path("claims/<id:claim_id>/payment-notice/", views.claim_payment_notice,
         name="payment-notice"),
    path("batches/<id:batch_id>/approval/", views.batch_approval, name="batch-approval"),
]
