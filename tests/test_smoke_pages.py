from images.models import MemberStatus, Visibility


def test_it_lists_a_pending_share_for_the_target(client_bob, make_image, app_team):
    image = make_image(
        "golden-ubuntu", visibility=Visibility.SHARED, members={app_team: MemberStatus.PENDING}
    )
    response = client_bob.get("/project/images/")
    assert response.status_code == 200
    assert image.name in response.content.decode()
